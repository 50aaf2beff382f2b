"""The standard agreement as data: a template version's typed clauses, loaded from TOML.

A template is one TOML file per version (``templates/v1.toml``): the parties' duties and the
clauses' text in Chinese, and each clause as a typed rule the engine evaluates. Loading refuses a
malformed template with the line at fault, whether the TOML does not parse, a value has the wrong
type or range, or a text names a value the clause does not have.
"""

from __future__ import annotations

import re
import string
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.errors import translate
from carepact.registry.schemas import CARE_LEVEL_LABELS
from carepact.registry.tables import CareLevel
from contracts.money import yuan
from providers.tables import ManualReason

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

Text = Annotated[str, Meta(min_length=1, max_length=2000)]
Title = Annotated[str, Meta(min_length=1, max_length=100)]
ClauseId = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
BasisPoints = Annotated[int, Meta(ge=0, le=10_000)]  # 1/100 of a percent: 500 = 5 %


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class WeeklyVisits(_Strict, frozen=True):
    """Days a week with a visit, by self-care level."""

    able: Annotated[int, Meta(ge=0, le=7)]
    partly_unable: Annotated[int, Meta(ge=0, le=7)]
    unable: Annotated[int, Meta(ge=0, le=7)]

    def of(self, level: CareLevel | str) -> int:
        return int(getattr(self, str(level)))


class GapDays(_Strict, frozen=True):
    """The longest allowed gap between two visits, in days, by self-care level."""

    able: Annotated[int, Meta(ge=1, le=60)]
    partly_unable: Annotated[int, Meta(ge=1, le=60)]
    unable: Annotated[int, Meta(ge=1, le=60)]

    def of(self, level: CareLevel | str) -> int:
        return int(getattr(self, str(level)))


class Fees(_Strict, frozen=True):
    """The monthly care fee (照料护理费) by self-care level, in fen."""

    able: Annotated[int, Meta(ge=0, le=10_000_000)]
    partly_unable: Annotated[int, Meta(ge=0, le=10_000_000)]
    unable: Annotated[int, Meta(ge=0, le=10_000_000)]
    text: Text

    def of(self, level: CareLevel | str) -> int:
        return int(getattr(self, str(level)))


class Deduction(_Strict, frozen=True):
    """What a breach costs: a fraction of the month's care fee per breach (a missed visit, a late
    visit), and at most this fraction of the fee per household and month."""

    per_breach_bp: BasisPoints
    monthly_cap_bp: BasisPoints
    text: Text

    def amount(self, fee_fen: int, units: int) -> int:
        """Integer fen, rounded down: never a float."""
        return fee_fen * self.per_breach_bp * units // 10_000

    def cap(self, fee_fen: int) -> int:
        return fee_fen * self.monthly_cap_bp // 10_000


def within_cap(amounts: list[tuple[Any, int]], cap_fen: int) -> list[tuple[Any, int]]:
    """Each (reference, amount) in the order given, cut so that together they never pass the cap."""
    left = cap_fen
    applied = []
    for reference, amount in amounts:
        take = max(0, min(amount, left))
        left -= take
        applied.append((reference, take))
    return applied


class Party(_Strict, frozen=True):
    role: Literal["township", "caregiver", "cared_for"]
    title: Title  # 甲方（乡镇人民政府 / 街道办事处）
    duties: Annotated[list[Text], Meta(min_length=1, max_length=30)]


# --- clauses: the typed rules ---------------------------------------------------------------------


class Clause(_Strict, frozen=True, tag_field="kind"):
    """One clause: its id (stable across versions), title, the text printed in the agreement
    (``{name}`` placeholders take the household's values), and the rule's numbers."""

    id: ClauseId
    title: Title
    text: Text

    def values(self, level: CareLevel) -> dict[str, str]:
        """What this clause's text may name, for a household of this self-care level."""
        return {}


class VisitsPerWeek(Clause, frozen=True, tag="visits_per_week"):
    """At least this many days a week with a visit (a partial week asks its share, rounded down)."""

    per_week: WeeklyVisits

    def values(self, level: CareLevel) -> dict[str, str]:
        return {
            "per_week": str(self.per_week.of(level)),
            "able": str(self.per_week.able),
            "partly_unable": str(self.per_week.partly_unable),
            "unable": str(self.per_week.unable),
        }


class LongestGap(Clause, frozen=True, tag="longest_gap"):
    """No more than this many days from one visit to the next."""

    max_days: GapDays

    def values(self, level: CareLevel) -> dict[str, str]:
        return {
            "max_days": str(self.max_days.of(level)),
            "able": str(self.max_days.able),
            "partly_unable": str(self.max_days.partly_unable),
            "unable": str(self.max_days.unable),
        }


class IllAtHome(Clause, frozen=True, tag="ill_at_home"):
    """A reported illness at home: a first visit within hours of the report, then one every day
    until recovery."""

    first_visit_within_hours: Annotated[int, Meta(ge=1, le=168)]
    daily_until_recovered: bool = True

    def values(self, level: CareLevel) -> dict[str, str]:
        return {"hours": str(self.first_visit_within_hours)}


class Hospitalised(Clause, frozen=True, tag="hospitalised"):
    """In hospital: accompaniment recorded at least every so many days. Accompaniment is a visit
    with one of ``services`` performed, or entered by hand with one of ``manual_reasons``."""

    every_days: Annotated[int, Meta(ge=1, le=14)]
    services: Annotated[list[ServiceCode], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: [ServiceCode.hospital_accompaniment]
    )
    manual_reasons: list[ManualReason] = msgspec.field(default_factory=lambda: [ManualReason.person_hospitalised])

    def values(self, level: CareLevel) -> dict[str, str]:
        return {"every_days": str(self.every_days)}


class ServicesPerMonth(Clause, frozen=True, tag="services_per_month"):
    """Visits performing each service at least so many times a month (a partial month asks its
    share, rounded down), counted only where the contract covering the household buys the service
    when ``only_where_bought``."""

    minimum: dict[ServiceCode, Annotated[int, Meta(ge=1, le=31)]]
    only_where_bought: bool = True

    def values(self, level: CareLevel) -> dict[str, str]:
        return {"services": "、".join(f"{CATALOGUE[s].label}不少于 {n} 次" for s, n in self.minimum.items())}


class VisitEvidence(Clause, frozen=True, tag="visit_evidence"):
    """Each visit's proof: a door-card (QR) check-in, at least ``min_photos`` photos, and an entry
    by hand only with a reason code."""

    qr_required: bool = True
    min_photos: Annotated[int, Meta(ge=0, le=10)] = 1
    manual_needs_reason: bool = True

    def values(self, level: CareLevel) -> dict[str, str]:
        return {"min_photos": str(self.min_photos)}


class ShortestVisit(Clause, frozen=True, tag="shortest_visit"):
    """A visit lasts at least this many minutes (check-in to check-out)."""

    min_minutes: Annotated[int, Meta(ge=1, le=480)]

    def values(self, level: CareLevel) -> dict[str, str]:
        return {"min_minutes": str(self.min_minutes)}


def kind_of(clause: Clause) -> str:
    """A clause's kind, as written in the template (``kind = "visits_per_week"``)."""
    return str(type(clause).__struct_config__.tag)


AnyClause = VisitsPerWeek | LongestGap | IllAtHome | Hospitalised | ServicesPerMonth | VisitEvidence | ShortestVisit

CLAUSE_KIND_LABELS = {
    "visits_per_week": "每周上门次数",
    "longest_gap": "最长间隔",
    "ill_at_home": "居家患病看护",
    "hospitalised": "住院陪护",
    "services_per_month": "每月服务项目",
    "visit_evidence": "服务记录凭证",
    "shortest_visit": "最短服务时长",
}


class Template(_Strict, frozen=True):
    """One version of the standard agreement."""

    version: Annotated[int, Meta(ge=1, le=10_000)]
    title: Title
    preamble: Text
    fees: Fees
    deduction: Deduction
    parties: Annotated[list[Party], Meta(min_length=3, max_length=3)]
    clauses: Annotated[list[AnyClause], Meta(min_length=1, max_length=40)]
    closing: Annotated[list[Text], Meta(max_length=20)] = []

    def clause(self, kind: type[Clause]) -> Any:
        """The first clause of this kind, or None (a template may leave a rule out)."""
        return next((c for c in self.clauses if isinstance(c, kind)), None)

    def party(self, role: str) -> Party:
        return next(p for p in self.parties if p.role == role)

    def values(self, level: CareLevel) -> dict[str, str]:
        """What every text may name, whatever the clause."""
        fee = self.fees.of(level)
        return {
            "care_level": CARE_LEVEL_LABELS[level],
            "fee": yuan(fee),
            "fee_able": yuan(self.fees.able),
            "fee_partly_unable": yuan(self.fees.partly_unable),
            "fee_unable": yuan(self.fees.unable),
            "per_breach": f"{self.deduction.per_breach_bp / 100:g}%",
            "monthly_cap": f"{self.deduction.monthly_cap_bp / 100:g}%",
            "per_breach_amount": yuan(self.deduction.amount(fee, 1)),
            "monthly_cap_amount": yuan(self.deduction.cap(fee)),
        }


def render(text: str, values: dict[str, str]) -> str:
    """A clause's text with the household's values in its ``{name}`` places."""
    return text.format_map(values)


# --- loading, with the line at fault ----------------------------------------------------------


class TemplateError(Exception):
    """A template that cannot be used: a Chinese message naming the line (when known) and the path."""

    def __init__(self, message: str, *, line: int | None, path: str = "", code: str = "invalid") -> None:
        where = f"第 {line} 行" if line else "模板"
        super().__init__(f"{where}：{message}" + (f"（{path}）" if path else ""))
        self.message = message
        self.line = line
        self.path = path
        self.code = code


Path_ = tuple[str | int, ...]
_HEADER = re.compile(r"^\[\[\s*(.+?)\s*\]\]|^\[\s*(.+?)\s*\]")
_KEY = re.compile(
    r"""^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=\s*(.*)$"""
)


def _names(dotted: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r""""[^"]*"|'[^']*'|[^.]+""", dotted)]


def _resolve(names: list[str], arrays: dict[Path_, int], is_array: bool) -> Path_:
    path: list[str | int] = []
    for n, name in enumerate(names):
        path.append(name)
        key = tuple(path)
        if n == len(names) - 1 and is_array:
            arrays[key] = arrays.get(key, -1) + 1
            path.append(arrays[key])
        elif key in arrays:
            path.append(arrays[key])
    return tuple(path)


def key_lines(source: str) -> dict[Path_, int]:
    """Where each table, key and (one-per-line) array item of a TOML document starts: path → line.

    A line scan, not a parser: it follows tables, arrays of tables, dotted keys, multi-line strings
    and arrays written one item per line, which is all a template needs to point at a line.
    """
    found: dict[Path_, int] = {}
    arrays: dict[Path_, int] = {}
    table: Path_ = ()
    closing: str | None = None  # the delimiter of an open multi-line string
    array: tuple[Path_, int] | None = None  # (path of a multi-line array, items so far)
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.strip()
        if closing is not None:
            if line.count(closing) % 2 == 1:
                closing = None
            continue
        if not line or line.startswith("#"):
            continue
        if array is not None:
            path, count = array
            if line.startswith("]"):
                array = None
            elif line[0] in "\"'{[0123456789-+tf":
                found.setdefault((*path, count), number)
                array = (path, count + 1)
                for delimiter in ('"""', "'''"):
                    if line.count(delimiter) % 2 == 1:
                        closing = delimiter
            continue
        header = _HEADER.match(line)
        if header:
            is_array = header.group(1) is not None
            table = _resolve(_names(header.group(1) or header.group(2)), arrays, is_array)
            found.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            names = _names(key.group(1))
            for n in range(1, len(names) + 1):
                found.setdefault((*table, *names[:n]), number)
            value = key.group(2)
            for delimiter in ('"""', "'''"):
                if value.count(delimiter) % 2 == 1:
                    closing = delimiter
            if value.startswith("[") and closing is None and value.count("[") > value.count("]"):
                array = ((*table, *names), 0)
    return found


def line_of(source: str, path: Path_) -> int | None:
    """The line of ``path`` or, failing that, of its nearest enclosing key or table."""
    lines = key_lines(source)
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


_PATH_PART = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


def _path(dollar_path: str) -> Path_:
    """ "$.clauses[2].per_week" → ("clauses", 2, "per_week")."""
    return tuple(int(i) if i else name for name, i in _PATH_PART.findall(dollar_path))


def _dotted(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _validation_error(source: str, exc: msgspec.ValidationError) -> TemplateError:
    text = str(exc)
    match = re.search(r"`\$([^`]*)`", text)
    path = _path(match.group(1)) if match else ()
    named = re.search(r"(?:missing required|contains unknown) field `([^`]+)`", text)
    # A bad key of a table ("at `key` in `$.clauses[4].minimum`") is pointed at by its value.
    bad_key = re.search(r"value '([^']+)' - at `key`", text)
    target = (*path, named.group(1)) if named else (*path, bad_key.group(1)) if bad_key else path
    field = translate(text)
    if "Invalid value" in text and path and path[-1] == "kind":
        message = f"未知的条款类型（可用：{'、'.join(CLAUSE_KIND_LABELS)}）"
    elif named and "missing required" in text:
        message = f"缺少必填项 {named.group(1)}"
    elif named:
        message = f"不允许的字段 {named.group(1)}"
    else:
        message = field.message
    return TemplateError(message, line=line_of(source, target), path=_dotted(target), code=field.code)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _check(source: str, template: Template) -> None:
    """What types cannot say: unique clause ids, one party per role, known placeholders."""

    def fail(message: str, path: Path_, code: str) -> TemplateError:
        return TemplateError(message, line=line_of(source, path), path=_dotted(path), code=code)

    seen: set[str] = set()
    for n, clause in enumerate(template.clauses):
        if clause.id in seen:
            raise fail(f"条款编号 {clause.id} 重复", ("clauses", n, "id"), "duplicate")
        seen.add(clause.id)
    roles = [p.role for p in template.parties]
    for n, role in enumerate(roles):
        if roles.index(role) != n:
            raise fail(f"协议方 {role} 重复（甲乙丙三方各一）", ("parties", n, "role"), "duplicate")
    common = set(template.values(CareLevel.able))
    texts: list[tuple[Path_, str, set[str]]] = [
        (("preamble",), template.preamble, common),
        (("fees", "text"), template.fees.text, common),
        (("deduction", "text"), template.deduction.text, common),
    ]
    texts += [(("closing", n), t, common) for n, t in enumerate(template.closing)]
    for n, party in enumerate(template.parties):
        texts += [(("parties", n, "duties", k), t, common) for k, t in enumerate(party.duties)]
    for n, clause in enumerate(template.clauses):
        texts.append((("clauses", n, "text"), clause.text, common | set(clause.values(CareLevel.able))))
    for path, text, allowed in texts:
        try:
            names = _placeholders(text)
        except ValueError as exc:
            raise fail(f"文字中的花括号不成对（{exc}）", path, "format") from exc
        unknown = sorted(n for n in names if n not in allowed)
        if unknown:
            raise fail(
                f"文字引用了不存在的取值 {{{unknown[0]}}}（可用：{'、'.join(sorted(allowed))}）", path, "placeholder"
            )


def load_template(source: str) -> Template:
    """Parse and check a template; TemplateError names the line at fault."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        position = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        # tomllib places what it finds only when the document ends (an open array) at its end.
        line = int(position.group(1)) if position else max(1, len(source.splitlines()))
        detail = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise TemplateError(f"TOML 格式错误：{detail}", line=line, code="syntax") from exc
    try:
        template = msgspec.convert(data, Template)
    except msgspec.ValidationError as exc:
        raise _validation_error(source, exc) from exc
    _check(source, template)
    return template


@lru_cache(maxsize=64)
def parsed(source: str) -> Template:
    """A stored (so already valid and immutable) template's source, parsed once per process."""
    return load_template(source)


def bundled_source(version: int = 1) -> str:
    """The template versions shipped with the platform (``templates/vN.toml``)."""
    return (TEMPLATES_DIR / f"v{version}.toml").read_text(encoding="utf-8")
