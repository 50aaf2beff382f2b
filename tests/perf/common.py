"""What every benchmark shares: a private temporary environment, best-of-N timing, and the
results table (each figure a ratio to a baseline measured in the same run) printed and written
to var/bench/<name>.json so a run leaves a record.

Import this module before anything from carepact: it sets the environment the settings read once.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[2]
TMP = pathlib.Path(tempfile.mkdtemp(prefix="carepact-bench-"))
os.environ["CAREPACT_VAR_DIR"] = str(TMP)
os.environ["MEDIA_DIR"] = str(TMP / "media")
os.environ["SECRET_KEY"] = "bench-only-secret-key-0123456789-abcdefghijklmnop"
os.environ["PICCOLO_CONF"] = "carepact.piccolo_conf"
# The embedded default unless BENCH_DATABASE_URL names a PostgreSQL database to fill (never DATABASE_URL:
# a benchmark must not write into the database a deployment uses).
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{TMP / 'bench.sqlite3'}"
os.environ.pop("REDIS_URL", None)
os.environ.pop("CAREPACT_ENV", None)
for source_root in (str(ROOT), str(ROOT / "platform")):
    if source_root not in sys.path:
        sys.path.insert(0, source_root)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings: the least disturbed by a noisy shared machine."""
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return best


async def best_of_async(runs: int, fn: Callable[[], Awaitable[object]]) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        await fn()
        best = min(best, time.perf_counter() - began)
    return best


@dataclass
class Figure:
    name: str
    measured: float  # what carepact does
    baseline: float  # the plain baseline, same run, same machine
    unit: str  # "s" (lower is better) or "req/s" (higher is better)
    target: str  # e.g. "≤ 1.3" or "≥ 0.35"; "" when the issue sets none (reported only)
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        if not self.target:
            return True
        bound = float(self.target.split()[-1])
        return self.ratio <= bound if self.target.startswith("≤") else self.ratio >= bound


@dataclass
class Report:
    bench: str
    figures: list[Figure] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        mark = ("met" if figure.met else "MISSED") if figure.target else "reported"
        print(
            f"  {figure.name}: {figure.measured:.4g} {figure.unit} vs baseline {figure.baseline:.4g} {figure.unit}"
            f" → ratio {figure.ratio:.2f} (target {figure.target or 'none'}: {mark}){'  ' + figure.note if figure.note else ''}",
            flush=True,
        )
        return figure

    def write(self) -> pathlib.Path:
        out = ROOT / "var" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.bench}.json"
        record = {
            "bench": self.bench,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
            "figures": [asdict(f) | {"ratio": f.ratio, "met": f.met} for f in self.figures],
        }
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        missed = [f.name for f in self.figures if not f.met]
        print(f"\n{self.bench}: {len(self.figures) - len(missed)}/{len(self.figures)} targets met; written to {path}")
        for name in missed:
            print(f"  missed: {name}")
        return path
