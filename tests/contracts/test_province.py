"""The province data set (``carepact demo-data --scale province``): refused on SQLite with a clear
message; on PostgreSQL its COPY path, at a tiny scale, in a database of its own (the province needs
an empty one, and the session's world is not)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import uuid

import pytest

from tests.platform.test_cli_and_settings import fresh_env, run
from tests.support import need

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Any PostgreSQL the suite may use: the province builds a database of its own beside it, so this test
# runs in the SQLite pass too (where CI has TEST_DATABASE_URL) instead of being skipped there.
PG_URL = os.environ.get("CAREPACT_TEST_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or ""


def test_province_scale_is_refused_on_sqlite(tmp_path) -> None:
    out = run("demo-data", "--scale", "province", env=fresh_env(tmp_path))
    assert out.returncode == 2
    assert "省级数据量仅支持 PostgreSQL" in out.stderr
    assert "Traceback" not in out.stderr


BUILD = textwrap.dedent(
    """
    import asyncio, json
    from carepact import db
    from carepact.accounts.access import load_principal
    from carepact.accounts.tables import Account, Role
    from contracts.demo_year import history_window
    from contracts.demo_province import build_province, province_exists
    from contracts.oversight import services
    from contracts.oversight.tables import OversightMonth
    from carepact.registry.tables import Household, Region
    from contracts.tables import Agreement, Coverage
    from providers.tables import Visit, VisitPhoto, VisitService

    async def main():
        await db.migrate()
        await db.start()
        start, end = history_window(months=2)
        lines = []
        summary = await build_province(households=300, start=start, end=end, say=lines.append)
        again = await build_province(households=300, start=start, end=end, say=lines.append)
        constraints = await Visit.raw(
            "SELECT conname FROM pg_constraint WHERE conrelid::regclass::text IN "
            "('visit', 'visit_service', 'photo', 'visit_photo', 'visit_flag') ORDER BY conname"
        )
        indexes = await Visit.raw(
            "SELECT indexname FROM pg_indexes WHERE tablename IN "
            "('visit', 'visit_service', 'photo', 'visit_photo', 'visit_flag') ORDER BY indexname"
        )
        root = await Region.select(Region.id).where(Region.level == "city").first()
        admin = await Account.select(Account.id).where(Account.role == Role.city_admin.value).first()
        board = await services.dashboard(await load_principal(admin["id"], via="token"), root["id"], None)
        print(json.dumps({
            "created": summary.created, "again": again.created, "written": summary.written,
            "households": await Household.count(), "agreements": await Agreement.count(),
            "coverage": await Coverage.count(), "visits": await Visit.count(),
            "links": await VisitPhoto.count(), "services": await VisitService.count(),
            "rolled": await OversightMonth.count(), "counties": await Region.count().where(Region.level == "county"),
            "constraints": [c["conname"] for c in constraints], "indexes": [i["indexname"] for i in indexes],
            "due": board.totals.households_due, "lines": lines,
        }))
        await db.stop()

    asyncio.run(main())
    """
)


def test_province_is_copied_in_and_answers_at_a_tiny_scale(tmp_path) -> None:
    need(PG_URL.startswith("postgres"), "the province data set is PostgreSQL only: set TEST_DATABASE_URL")
    asyncpg = pytest.importorskip("asyncpg")
    import asyncio

    name = f"carepact_province_t{uuid.uuid4().hex[:8]}"
    base, _, _ = PG_URL.rpartition("/")

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no right to create databases: nothing to test here
        need(False, f"cannot create a database for the province: {exc}")
    try:
        env = fresh_env(tmp_path, DATABASE_URL=f"{base}/{name}")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "platform"), str(ROOT)])
        out = subprocess.run(
            [sys.executable, "-c", BUILD], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT
        )
        assert out.returncode == 0, out.stderr[-3000:]
        found = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))

    assert found["created"] and not found["again"]  # built once
    assert found["households"] == found["agreements"] == found["coverage"] == 300
    assert found["counties"] == 2
    assert found["visits"] == found["written"]["visit"] > 300  # every household visited, by COPY
    assert found["links"] == found["written"]["visit_photo"] > 0
    assert found["services"] >= found["visits"]
    # Keys, unique constraints, indexes and foreign keys all rebuilt after the load.
    for constraint in ("visit_pkey", "visit_household_fkey", "visit_photo_photo_key", "visit_service_visit_fkey"):
        assert constraint in found["constraints"]
    for index in ("visit_checkin_at", "visit_corrects", "photo_phash_b0", "visit_flag_visit"):
        assert index in found["indexes"]
    assert found["rolled"] == 12  # the twelve months before this one, as the nightly job keeps them
    assert found["due"] > 0  # the dashboard answers on it
    assert any("2" in line and "月" in line for line in found["lines"])  # progress per month
