"""Sensitive personal information (PIPL art. 28): protection at rest, masking, ID-number checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carepact.settings import get_settings

_VERSION = "v1"


@lru_cache(maxsize=8)
def derive_key(secret: str, purpose: str) -> bytes:
    """One key per purpose from SECRET_KEY, so a leaked digest key reveals no ciphertext."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret.encode())


def _aead() -> AESGCM:
    return AESGCM(derive_key(get_settings().secret_key, "carepact/field-encryption/v1"))


def protect(plaintext: str, *, context: str) -> str:
    """Encrypt a field; ``context`` (e.g. "person.id_number") binds the ciphertext to its column."""
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, plaintext.encode(), context.encode())
    return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def reveal(token: str, *, context: str) -> str:
    if not token:
        return ""
    version, _, body = token.partition(":")
    if version != _VERSION:
        raise ValueError(f"unknown protection version {version!r}")
    raw = base64.urlsafe_b64decode(body)
    return _aead().decrypt(raw[:12], raw[12:], context.encode()).decode()


def digest(value: str, *, purpose: str) -> str:
    """A keyed digest: finds equal values (duplicate ID numbers) without storing them."""
    key = derive_key(get_settings().secret_key, f"carepact/digest/{purpose}")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# --- Chinese resident identity numbers (GB 11643) --------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str) -> str | None:
    """None if ``value`` is a well-formed 18-character ID number, else a zh-CN reason."""
    if len(value) != 18:
        return "身份证号应为 18 位"
    if not value.isascii() or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return "身份证号前 17 位应为数字，末位为数字或 X"
    if id_check_char(value[:17]) != value[17]:
        return "身份证号校验位不正确"
    return None


def mask_id_number(value: str) -> str:
    """610399********1234: the region and the last four, enough to tell two people apart."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_name(name: str) -> str:
    """张*明 / 张*: for printed door cards and lists seen by people outside the case."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def coarse_coordinate(value: float | None) -> float | None:
    """About 1 km: enough to place a household on a county map, not to find the door."""
    return None if value is None else round(value, 2)
