"""The `carepact` command and the settings it reads, run as real processes."""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import socket
import stat
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from carepact.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[2]
CAREPACT = pathlib.Path(sys.executable).parent / "carepact"
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CAREPACT), *args], env=env or dict(os.environ), capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def fresh_env(tmp_path: pathlib.Path, **overrides: str | None) -> dict[str, str]:
    """This session's environment pointed at an empty SQLite file and var dir of its own."""
    env = dict(os.environ)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'carepact.sqlite3'}"
    env["CAREPACT_VAR_DIR"] = str(tmp_path / "var")
    env["MEDIA_DIR"] = str(tmp_path / "media")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- help -------------------------------------------------------------------------------------


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Every command and subcommand the parser knows, with its description."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(((*prefix, name), sub.description or ""))
                found += _commands(sub, (*prefix, name))
    return found


COMMANDS = _commands(build_parser())


def test_top_level_help_lists_every_command() -> None:
    out = run("--help")
    assert out.returncode == 0, out.stderr
    assert "carepact" in out.stdout and CJK.search(out.stdout)
    for command, _ in COMMANDS:
        if len(command) == 1:
            assert command[0] in out.stdout


@pytest.mark.parametrize(("command", "description"), COMMANDS, ids=[" ".join(c) for c, _ in COMMANDS])
def test_every_command_explains_itself(command: tuple[str, ...], description: str) -> None:
    out = run(*command, "--help")
    assert out.returncode == 0, out.stderr
    assert description and CJK.search(description), f"{command} has no Chinese description"
    assert f"carepact {' '.join(command)}" in out.stdout
    assert description[:20] in out.stdout.replace("\n", " ").replace("  ", " ") or description[:10] in out.stdout


def test_the_module_and_the_script_are_the_same_command() -> None:
    out = subprocess.run([sys.executable, "-m", "carepact.cli", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout == run("--help").stdout


def test_a_missing_subcommand_is_a_usage_error() -> None:
    out = run("users")
    assert out.returncode == 2 and "usage" in out.stderr.lower()


# --- accounts and tokens ----------------------------------------------------------------------


async def test_users_create_then_token_gives_a_working_bearer_token(app, client, world) -> None:
    username = f"cli_{uuid.uuid4().hex[:8]}"
    out = run(
        "users",
        "create",
        username,
        "--role",
        "county_auditor",
        "--region",
        "610302",
        "--name",
        "命令行审核员",
        "--password",
        "Cli-pass-123",
    )
    assert out.returncode == 0, out.stderr
    assert username in out.stdout
    out = run("users", "token", username, "--label", "tests")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("cpt_") and "\n" not in token

    headers = {"Authorization": f"Bearer {token}"}
    me = (await client.get("/api/auth/me", headers=headers)).json()
    assert (me["username"], me["role"], me["region_name"], me["display_name"]) == (
        username,
        "county_auditor",
        "渭滨区",
        "命令行审核员",
    )
    households = (await client.get("/api/households?page_size=200", headers=headers)).json()
    assert households["total"] > 0 and {h["county_name"] for h in households["items"]} == {"渭滨区"}
    # The password given on the command line is the one that logs in.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as browser:
        r = await browser.post("/api/auth/login", json={"username": username, "password": "Cli-pass-123"})
        assert r.status_code == 200, r.text


async def test_users_create_for_a_provider_reads_the_password_from_the_environment(app, client, world) -> None:
    username = f"cli_{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, CAREPACT_NEW_PASSWORD="Env-pass-456")
    out = run(
        "users", "create", username, "--role", "field_worker", "--organisation", "宝鸡市仁和社会工作服务中心", env=env
    )
    assert out.returncode == 0, out.stderr
    token = run("users", "token", username).stdout.strip()
    me = (await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert (me["role"], me["organisation_name"]) == ("field_worker", "宝鸡市仁和社会工作服务中心")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as browser:
        r = await browser.post("/api/auth/login", json={"username": username, "password": "Env-pass-456"})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (
            ["users", "create", "city_admin", "--role", "city_admin", "--region", "610300", "--password", "Xx-123456"],
            "account.username_taken",
        ),
        (
            ["users", "create", "cli_x", "--role", "county_auditor", "--region", "999999", "--password", "Xx-123456"],
            "region.unknown",
        ),
        (
            ["users", "create", "cli_y", "--role", "county_auditor", "--password", "Xx-123456"],
            "account.region_required",
        ),
        (
            [
                "users",
                "create",
                "cli_z",
                "--role",
                "field_worker",
                "--organisation",
                "没有这个机构",
                "--password",
                "Xx-123456",
            ],
            "organisation.unknown",
        ),
        (["users", "token", "no_such_user"], "account.not_found"),
    ],
)
def test_users_commands_refuse_clearly(world, args: list[str], code: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert code in out.stderr and CJK.search(out.stderr)
    assert "Traceback" not in out.stderr


# --- settings ---------------------------------------------------------------------------------


def test_production_without_secret_key_refuses_to_run(tmp_path) -> None:
    env = fresh_env(tmp_path, CAREPACT_ENV="production", SECRET_KEY=None)
    for command in (["migrate"], ["serve", "--port", str(free_port())], ["audit", "verify"]):
        out = run(*command, env=env, timeout=30)
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        assert "SECRET_KEY" in out.stderr and "production" in out.stderr
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "var" / "secret_key").exists()
    assert not (tmp_path / "carepact.sqlite3").exists()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"SECRET_KEY": "too-short"}, ["SECRET_KEY", "32"]),
        ({"DATABASE_URL": "mysql://root@localhost/carepact"}, ["DATABASE_URL", "sqlite:///", "postgresql://"]),
    ],
    ids=["short secret key", "unsupported database"],
)
def test_bad_settings_are_explained(tmp_path, overrides: dict[str, str], words: list[str]) -> None:
    out = run("migrate", env=fresh_env(tmp_path, **overrides))
    assert out.returncode == 2
    for word in words:
        assert word in out.stderr
    assert "Traceback" not in out.stderr


def test_development_generates_a_secret_key_once_and_keeps_it(tmp_path) -> None:
    env = fresh_env(tmp_path, SECRET_KEY=None, CAREPACT_ENV=None)
    key_file = tmp_path / "var" / "secret_key"
    assert run("migrate", env=env).returncode == 0
    key = key_file.read_text()
    assert len(key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run("migrate", env=env).returncode == 0
    assert key_file.read_text() == key

    # What one process protects, the next one (a restart) can still read.
    def python(code: str) -> str:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    sealed = python("from carepact.privacy import protect; print(protect('610399199001010014', context='t'))")
    assert (
        python(f"from carepact.privacy import reveal; print(reveal({sealed!r}, context='t'))") == "610399199001010014"
    )


def test_serve_refuses_an_unmigrated_database(tmp_path) -> None:
    env = fresh_env(tmp_path)
    out = run("serve", "--port", str(free_port()), env=env, timeout=30)
    assert out.returncode == 2
    assert "carepact migrate" in out.stderr and CJK.search(out.stderr)
    assert "Traceback" not in out.stderr


def test_the_app_itself_refuses_an_unmigrated_database(tmp_path) -> None:
    """Started by another process manager (uvicorn directly), the app still checks."""
    env = fresh_env(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "carepact.app:create_app", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert out.returncode != 0
    assert "carepact migrate" in out.stderr


def test_migrate_then_serve_answers_over_http(tmp_path) -> None:
    env = fresh_env(tmp_path)
    out = run("migrate", env=env)
    assert out.returncode == 0, out.stderr
    assert run("migrate", env=env).returncode == 0  # idempotent
    port = free_port()
    server = subprocess.Popen(
        [str(CAREPACT), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "server did not answer within 30 s"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        r = httpx.get(f"http://127.0.0.1:{port}/api/households", timeout=5)
        assert r.status_code == 401 and r.json()["message"] == "请先登录。"
    finally:
        server.terminate()
        server.wait(timeout=15)
