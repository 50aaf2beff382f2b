"""Helpers shared by tests: requirement checks that fail under CI instead of skipping, and
synthetic households that collide with nobody."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
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


# --- synthetic people and households ---------------------------------------------------------

# Not an assigned address code, as in the demo; test birth years (1980-1999) lie outside the
# demo's (1936-1974), so a test's ID number never collides with a demo person's.
TEST_ID_PREFIX = "610399"
_id_serial = itertools.count()


def new_id_number(birth_year: int = 1985) -> str:
    """A well-formed ID number nobody in this database has yet (unique within the session)."""
    from carepact.privacy import id_check_char

    n = next(_id_serial)
    day = datetime.date(birth_year, 1, 1) + datetime.timedelta(days=n % 365)
    first17 = f"{TEST_ID_PREFIX}{day:%Y%m%d}{(n // 365) % 1000:03d}"
    return first17 + id_check_char(first17)


def household_body(village_code: str, *, birth_year: int = 1985, **person: object) -> dict:
    """A valid POST /api/households body for one new person in ``village_code``."""
    return {
        "village_code": village_code,
        "address": "测试路1号",
        "person": {
            "name": "测试人",
            "gender": "female",
            "birth_year": birth_year,
            "id_number": new_id_number(birth_year),
            "care_level": "able",
        }
        | person,
    }


async def villages(under_code: str) -> list[str]:
    """Codes of the villages below a region (county or township), in code order."""
    from carepact.registry.tables import Region, RegionLevel

    parent = await Region.select(Region.path).where(Region.code == under_code).first()
    rows = (
        await Region.select(Region.code)
        .where(Region.path.like(parent["path"] + "%") & (Region.level == RegionLevel.village.value))
        .order_by(Region.code)
    )
    return [r["code"] for r in rows]


async def principal(username: str):
    """The Principal an account acts as (what the permission checks see)."""
    from carepact.accounts.access import load_principal
    from carepact.accounts.services import account_id_for

    return await load_principal(await account_id_for(username), via="token")


# The import file's columns, in the template's order.
CSV_HEADERS = [
    "村（社区）代码",
    "地址",
    "纬度",
    "经度",
    "姓名",
    "性别",
    "出生年份",
    "身份证号",
    "自理能力",
    "疾病情况",
    "残疾情况",
]


def csv_row(village_code: str, *, birth_year: int = 1990, **columns: str) -> dict[str, str]:
    """One valid import row (by Chinese header); keyword arguments replace cells by header."""
    row = {
        "村（社区）代码": village_code,
        "地址": "导入路8号",
        "纬度": "",
        "经度": "",
        "姓名": "导入人",
        "性别": "男",
        "出生年份": str(birth_year),
        "身份证号": new_id_number(birth_year),
        "自理能力": "半失能",
        "疾病情况": "高血压",
        "残疾情况": "",
    }
    return row | columns


def csv_file(rows: list[dict[str, str]], *, headers: list[str] | None = None, bom: bool = False) -> str:
    """The text of an import file (callers encode it, as a spreadsheet program would)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=headers or CSV_HEADERS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + buffer.getvalue()


def upload(text_or_bytes: str | bytes, name: str = "households.csv") -> dict:
    """The multipart ``files=`` argument for POST /api/households/import."""
    content = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    return {"data": (name, content, "text/csv")}
