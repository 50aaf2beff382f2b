"""`carepact serve` configured as a city runs it: in production the session cookie is only ever sent
over HTTPS and cannot be read by scripts or sent by other sites' forms; a retired card key stops
every card printed under it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.platform.test_nothing_lost import serving


async def test_in_production_the_session_cookie_is_secure_httponly_and_samesite(world, tokens) -> None:
    logs: list[Path] = []
    env = {**os.environ, "CAREPACT_ENV": "production"}
    async with serving(env, tokens["weibin_auditor"], logs) as http:
        r = await http.post(
            "/api/auth/login",
            json={"username": "weibin_auditor", "password": "carepact-demo"},
            headers={"Authorization": ""},
        )
        assert r.status_code == 200, r.text
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith("carepact_session=")
        assert "; secure" in cookie and "; httponly" in cookie and "samesite=lax" in cookie


async def test_cards_signed_with_a_retired_key_are_refused_and_new_cards_use_the_new_key(world, tokens) -> None:
    """A leaked card key is retired by configuration (CAREPACT_CARD_KEYS_RETIRED) and a new key id
    signs from then on: every card printed under the old key stops verifying, with its own message."""
    from carepact.cards.tables import CardSubject
    from carepact.cards.tokens import sign
    from tests.providers.test_visits import decode_qr

    logs: list[Path] = []
    env = {**os.environ, "CAREPACT_CARD_KEY_ID": "k2", "CAREPACT_CARD_KEYS_RETIRED": "k1"}
    async with serving(env, tokens["weibin_worker"], logs) as http:
        household = (await http.get("/api/visits/today")).json()[0]["household_id"]
        old = sign(CardSubject.household, household, 1)  # as printed under k1
        assert old.startswith("k1.")
        check = (await http.get("/api/cards/check", params={"token": old})).json()
        assert (check["ok"], check["code"]) == (False, "card.key_retired") and "停用" in check["message"]
        admin = {"Authorization": f"Bearer {tokens['city_admin']}"}
        r = await http.post(f"/api/households/{household}/card", json={"reason": "密钥停用，换发"}, headers=admin)
        assert r.status_code == 201, r.text
        png = await http.get(f"/api/households/{household}/card.png", headers=admin)
        new = decode_qr(png.content).rsplit("/c/", 1)[1]
        assert new.startswith("k2.")
        check = (await http.get("/api/cards/check", params={"token": new})).json()
        assert check["ok"] is True, check
