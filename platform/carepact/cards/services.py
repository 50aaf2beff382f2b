"""Issuing, reissuing and checking cards against their current version."""

from __future__ import annotations

from collections.abc import Mapping

from carepact.audit.services import Actor, record
from carepact.cards.tables import Card, CardSubject
from carepact.cards.tokens import CardClaim, TokenRefused, read, sign
from carepact.db import atomic, fetch, is_postgres


async def current_version(subject: CardSubject, subject_id: int) -> int | None:
    # Hand-written: every QR check-in asks (carepact.db.fetch).
    rows = await fetch(
        "SELECT max(version) AS version FROM card WHERE subject = {} AND subject_id = {}", subject.value, subject_id
    )
    return rows[0]["version"] if rows else None


async def issue(subject: CardSubject, subject_id: int, actor: Actor, reason: str = "") -> str:
    """A new card version (the first, or a reissue that revokes the previous); returns its token."""
    async with atomic():
        if is_postgres():
            await Card.raw("SELECT pg_advisory_xact_lock(43, {})", subject_id)
        version = (await current_version(subject, subject_id) or 0) + 1
        await Card.insert(
            Card(subject=subject.value, subject_id=subject_id, version=version, issued_by=actor.id, reason=reason)
        )
        await record(
            actor, "card.issue", f"card.{subject.name}", subject_id, after={"version": version, "reason": reason}
        )
    return sign(subject, subject_id, version)


async def token_for(subject: CardSubject, subject_id: int, actor: Actor) -> str:
    """The token of the current card, issuing the first card if there is none."""
    version = await current_version(subject, subject_id)
    if version is None:
        return await issue(subject, subject_id, actor, reason="首次制卡")
    return sign(subject, subject_id, version)


async def verify(token: str, subject: CardSubject, known: Mapping[int, int | None] | None = None) -> CardClaim:
    """A claim for a current card of this kind, or TokenRefused with the reason. ``known``: current
    versions the caller read already (subject id → ``current_version``), as a check-in does with
    its household."""
    claim = read(token)
    if claim.subject != subject:
        raise TokenRefused("card.wrong_kind", "这不是本类卡片（门牌卡与腕带不能混用）。")
    if known is not None and claim.subject_id in known:
        current = known[claim.subject_id]
    else:
        current = await current_version(subject, claim.subject_id)
    if current is None:
        raise TokenRefused("card.unknown", "卡片对应的对象不存在或尚未制卡。")
    if claim.version < current:
        raise TokenRefused("card.revoked", f"此卡片已作废（已换发第 {current} 版），请使用最新卡片。")
    if claim.version > current:
        raise TokenRefused("card.token_forged", "卡片版本不存在：此二维码可能被伪造。")
    return claim
