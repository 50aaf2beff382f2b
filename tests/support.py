"""Helpers shared by tests: requirement checks that fail under CI instead of skipping."""

from __future__ import annotations

import os
import shutil

import pytest

TEST_HOUSEHOLDS = 120
TEST_RESIDENTS = 12
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(available: bool, reason: str) -> None:
    """Skip a test whose real dependency is missing, with the reason printed; under CI=true a
    missing PostgreSQL, Redis or browser is a failure, never a silent skip."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def redis_url() -> str | None:
    return os.environ.get("TEST_REDIS_URL") or ("redis://127.0.0.1:6379/15" if not IN_CI else None)
