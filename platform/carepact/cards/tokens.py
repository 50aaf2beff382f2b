"""Signed card tokens: key id, subject, card version and a MAC, small enough for a QR code.

A token reads ``k1.h.1234.2.<mac>``: key ``k1``, household 1234, card version 2. The MAC is
HMAC-SHA256 over the first four parts, truncated to 128 bits. Keys are derived from SECRET_KEY
per key id, so rotating means choosing a new ``CAREPACT_CARD_KEY_ID``; ids listed in
``CAREPACT_CARD_KEYS_RETIRED`` stop verifying.
"""

from __future__ import annotations

import base64
import hmac
import re
from hashlib import sha256

import msgspec

from carepact.cards.tables import CardSubject
from carepact.privacy import derive_key
from carepact.settings import get_settings

MAC_BYTES = 16
MAX_TOKEN_LENGTH = 80
_SHAPE = re.compile(r"^(k[0-9a-z]{1,8})\.([hr])\.([1-9][0-9]{0,9})\.([1-9][0-9]{0,5})\.([A-Za-z0-9_-]{22})$")


class CardClaim(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    subject: CardSubject
    subject_id: int
    version: int


class TokenRefused(Exception):
    """The token cannot be trusted; ``code`` and the zh-CN ``message`` say why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def _mac(key_id: str, body: str) -> str:
    key = derive_key(get_settings().secret_key, f"carepact/card/{key_id}")
    digest = hmac.new(key, body.encode(), sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(subject: CardSubject, subject_id: int, version: int) -> str:
    key_id = get_settings().card_key_id
    body = f"{key_id}.{subject.value}.{subject_id}.{version}"
    return f"{body}.{_mac(key_id, body)}"


def read(token: str) -> CardClaim:
    """Check shape, key and MAC; the caller still checks the version against the current card."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRefused("card.token_malformed", "二维码内容过长，不是本平台的卡片。")
    m = _SHAPE.match(token)
    if m is None:
        raise TokenRefused("card.token_malformed", "二维码内容不完整或不是本平台的卡片，请重新扫描。")
    key_id, subject, subject_id, version, mac = m.groups()
    settings = get_settings()
    if key_id in settings.card_keys_retired:
        raise TokenRefused("card.key_retired", "此卡片使用的密钥已停用，请联系乡镇或服务机构换发新卡。")
    body = f"{key_id}.{subject}.{subject_id}.{version}"
    if not hmac.compare_digest(_mac(key_id, body), mac):
        raise TokenRefused("card.token_forged", "卡片签名校验失败：此二维码可能被伪造或篡改。")
    return CardClaim(key_id=key_id, subject=CardSubject(subject), subject_id=int(subject_id), version=int(version))
