"""The source layout keeps Python's own `platform` module reachable."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_platform_is_a_source_root_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_import_platform_gives_the_standard_library_from_the_repository_root() -> None:
    # Run where a user would: the repository root first on sys.path (python -m pytest, piccolo).
    out = subprocess.run(
        [sys.executable, "-c", "import platform, carepact; print(platform.python_version()); print(platform.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[0] == ".".join(map(str, sys.version_info[:3]))
    assert "platform.py" in out[1] and str(ROOT / "platform") not in out[1]
