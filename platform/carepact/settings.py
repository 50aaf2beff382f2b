"""The environment, read once into one frozen settings object."""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path

import msgspec

# The repository root: platform/carepact/settings.py -> ../../..
ROOT = Path(__file__).resolve().parents[2]
# The browser app: static/ in a checkout, carepact/static inside an installed wheel.
STATIC_DIR = ROOT / "static" if (ROOT / "static").is_dir() else Path(__file__).resolve().parent / "static"


class SettingsError(RuntimeError):
    """The environment cannot produce a usable configuration; the message says how to fix it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: str
    database_url: str
    redis_url: str | None
    media_dir: Path
    var_dir: Path
    secret_key: str
    session_hours: int
    login_max_failures: int
    login_window_seconds: int
    public_url: str
    card_key_id: str
    card_keys_retired: frozenset[str]
    job_concurrency: int
    # A running job whose heartbeat is older than this is taken for dead and run again.
    job_stale_seconds: int = 90
    # Fault drills only: handlers pause this long at their commit point (see JobContext.checkpoint).
    job_drill_pause: float = 0.0
    # The arq queue in Redis: deployments (or test runs) sharing one Redis keep their jobs apart.
    arq_queue: str = "arq:queue"
    # Personal data older than this is deleted by `carepact purge` (PIPL art. 19 and 47).
    retention_days: int = 1095
    # A deployment with more households than this has this month's audit figures rolled up hourly
    # instead of counted on every view (a province's month is ~1 M visits: docs/PERFORMANCE.md).
    live_month_households: int = 50_000
    timezone: str = "Asia/Shanghai"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))


def _secret_key(env: str, var_dir: Path) -> str:
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        if len(key) < 32:
            raise SettingsError("SECRET_KEY 至少需要 32 个字符 (SECRET_KEY must be at least 32 characters).")
        return key
    if env == "production":
        raise SettingsError(
            "CAREPACT_ENV=production 时必须设置 SECRET_KEY 环境变量。"
            " (SECRET_KEY is required in production: generate one with"
            " `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            " and keep it secret; it protects ID numbers, sessions and QR cards.)"
        )
    # Development: generated once and kept, so encrypted fields and printed cards survive restarts.
    path = var_dir / "secret_key"
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # Created exclusively and private from the first byte: two processes starting at once
        # (serve --workers, a worker) agree on one key, and no one else can read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # the creator may not have written it yet
            existing = path.read_text().strip()
            if existing:
                return existing
            time.sleep(0.02)
        raise SettingsError(f"{path} 为空：请删除该文件后重启。") from None
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


def load_settings() -> Settings:
    env = os.environ.get("CAREPACT_ENV", "development").strip() or "development"
    var_dir = Path(os.environ.get("CAREPACT_VAR_DIR", ROOT / "var")).resolve()
    database_url = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{var_dir / 'carepact.sqlite3'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise SettingsError(f"DATABASE_URL 只支持 sqlite:/// 或 postgresql:// (got {database_url.split(':', 1)[0]}:).")
    media_dir = Path(os.environ.get("MEDIA_DIR", var_dir / "media")).resolve()
    return Settings(
        env=env,
        database_url=database_url,
        redis_url=os.environ.get("REDIS_URL", "").strip() or None,
        media_dir=media_dir,
        var_dir=var_dir,
        secret_key=_secret_key(env, var_dir),
        session_hours=int(os.environ.get("CAREPACT_SESSION_HOURS", "12")),
        login_max_failures=int(os.environ.get("CAREPACT_LOGIN_MAX_FAILURES", "5")),
        login_window_seconds=int(os.environ.get("CAREPACT_LOGIN_WINDOW_SECONDS", "900")),
        public_url=os.environ.get("CAREPACT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        card_key_id=os.environ.get("CAREPACT_CARD_KEY_ID", "k1").strip() or "k1",
        card_keys_retired=frozenset(
            k.strip() for k in os.environ.get("CAREPACT_CARD_KEYS_RETIRED", "").split(",") if k.strip()
        ),
        job_concurrency=int(os.environ.get("CAREPACT_JOB_CONCURRENCY", "2")),
        job_stale_seconds=_job_stale_seconds(),
        job_drill_pause=_job_drill_pause(env),
        arq_queue=os.environ.get("CAREPACT_ARQ_QUEUE", "").strip() or "arq:queue",
        retention_days=_retention_days(),
        live_month_households=int(os.environ.get("CAREPACT_LIVE_MONTH_HOUSEHOLDS", "50000")),
    )


# Photos and locations prove the visits a year's statements paid for, and the year's audit reads them.
MIN_RETENTION_DAYS = 365


def _retention_days() -> int:
    days = int(os.environ.get("CAREPACT_RETENTION_DAYS", "1095"))
    if days < MIN_RETENTION_DAYS:
        raise SettingsError(
            f"CAREPACT_RETENTION_DAYS 不得少于 {MIN_RETENTION_DAYS} 天：照片和定位是结算与年度审计的证据。"
            f" (CAREPACT_RETENTION_DAYS must be at least {MIN_RETENTION_DAYS}: photos and locations are the"
            " evidence behind a year's settlements and its audit.)"
        )
    return days


def _job_stale_seconds() -> int:
    seconds = int(os.environ.get("CAREPACT_JOB_STALE_SECONDS", "90"))
    if seconds < 1:
        raise SettingsError("CAREPACT_JOB_STALE_SECONDS 至少为 1 秒 (must be at least 1 second).")
    return seconds


def _job_drill_pause(env: str) -> float:
    pause = float(os.environ.get("CAREPACT_JOB_DRILL_PAUSE", "0") or 0)
    if pause > 0 and env == "production":
        raise SettingsError(
            "CAREPACT_JOB_DRILL_PAUSE 只用于故障演练，生产环境不得设置。"
            " (CAREPACT_JOB_DRILL_PAUSE slows every job down for fault drills; it is refused in production.)"
        )
    return max(0.0, pause)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The one settings object; read from the environment on first use."""
    return load_settings()
