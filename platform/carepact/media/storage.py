"""Files on disk under MEDIA_DIR, addressed by keys; the seam where an object store fits later."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from carepact.settings import get_settings


def root() -> Path:
    return get_settings().media_dir


def path_of(key: str) -> Path:
    """The file for a key; refuses keys that would leave MEDIA_DIR."""
    base = root().resolve()
    target = (base / key).resolve()
    if base not in target.parents:
        raise ValueError(f"storage key outside media dir: {key!r}")
    return target


def put(key: str, data: bytes) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    target = path_of(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def get(key: str) -> bytes:
    return path_of(key).read_bytes()


def exists(key: str) -> bool:
    return bool(key) and path_of(key).exists()


def delete(key: str) -> None:
    if key:
        path_of(key).unlink(missing_ok=True)
