"""The agreement template as versioned data: the shipped version loads into typed rules, and a
malformed one is refused naming the line at fault."""

from __future__ import annotations

import pytest

from carepact.registry.tables import CareLevel
from contracts.agreement.rules import (
    Hospitalised,
    IllAtHome,
    LongestGap,
    ServicesPerMonth,
    ShortestVisit,
    TemplateError,
    VisitEvidence,
    VisitsPerWeek,
    bundled_source,
    key_lines,
    load_template,
    render,
)

V1 = bundled_source(1)


def line_of_text(source: str, text: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line that starts (after indentation) with ``text``."""
    hits = [n for n, line in enumerate(source.splitlines(), 1) if line.strip().startswith(text)]
    return hits[occurrence - 1]


def test_version_one_holds_the_domain_defaults_as_typed_rules() -> None:
    t = load_template(V1)
    assert t.version == 1 and t.title == "宝鸡市分散供养特困人员照料服务协议"
    weekly, gap = t.clause(VisitsPerWeek), t.clause(LongestGap)
    assert (weekly.per_week.able, weekly.per_week.partly_unable, weekly.per_week.unable) == (1, 3, 7)
    assert (gap.max_days.able, gap.max_days.partly_unable, gap.max_days.unable) == (10, 4, 2)
    assert t.clause(IllAtHome).first_visit_within_hours == 24 and t.clause(IllAtHome).daily_until_recovered
    assert t.clause(Hospitalised).every_days == 2
    assert {s.value: n for s, n in t.clause(ServicesPerMonth).minimum.items()} == {
        "cleaning": 2,
        "psychological_comfort": 1,
    }
    evidence = t.clause(VisitEvidence)
    assert evidence.qr_required and evidence.min_photos == 1 and evidence.manual_needs_reason
    assert t.clause(ShortestVisit).min_minutes == 30
    assert t.deduction.amount(t.fees.unable, 2) == 12000 and t.deduction.cap(t.fees.unable) == 36000
    assert [p.role for p in t.parties] == ["township", "caregiver", "cared_for"]


def test_clause_text_takes_the_households_values() -> None:
    t = load_template(V1)
    weekly = t.clause(VisitsPerWeek)
    text = render(weekly.text, t.values(CareLevel.unable) | weekly.values(CareLevel.unable))
    assert text.startswith("乙方每周上门照料不少于7天") and "{" not in text
    fee = render(t.fees.text, t.values(CareLevel.partly_unable))
    assert "半失能" in fee and "¥600.00" in fee


MALFORMED = [
    # (what is changed, replacement, the line's start in the changed text, occurrence, path)
    (
        "first_visit_within_hours = 24",
        'first_visit_within_hours = "24"',
        "first_visit_within_hours",
        1,
        "clauses[2].first_visit_within_hours",
    ),
    ("unable = 7", "unable = 8", "unable = 8", 1, "clauses[0].per_week.unable"),
    ("min_minutes = 30", "min_minutes = 0", "min_minutes", 1, "clauses[6].min_minutes"),
    ('kind = "hospitalised"', 'kind = "in_hospital"', 'kind = "in_hospital"', 1, "clauses[3].kind"),
    ("every_days = 2\n", "every_days = 2\nescort = true\n", "escort", 1, "clauses[3].escort"),
    ('id = "longest_gap"', 'id = "visits_per_week"', 'id = "visits_per_week"', 2, "clauses[1].id"),
    ("不少于{min_minutes}分钟", "不少于{minimum}分钟", 'text = "每次上门服务', 1, "clauses[6].text"),
    ("cleaning = 2", "sweeping = 2", "sweeping", 1, "clauses[4].minimum.sweeping"),
    ('title = "服务时长"\n', "", "[[clauses]]", 7, "clauses[6].title"),
    ('role = "cared_for"', 'role = "caregiver"', 'role = "caregiver"', 2, "parties[2].role"),
    ("per_breach_bp = 500", "per_breach_bp = 50000", "per_breach_bp", 1, "deduction.per_breach_bp"),
    ('  "服务记录真实完整', '  42,\n  "服务记录真实完整', "42,", 1, "parties[1].duties[3]"),
]


@pytest.mark.parametrize(("old", "new", "line_start", "occurrence", "path"), MALFORMED)
def test_a_malformed_template_names_its_line(old: str, new: str, line_start: str, occurrence: int, path: str) -> None:
    assert old in V1
    source = V1.replace(old, new, 1)
    with pytest.raises(TemplateError) as refused:
        load_template(source)
    assert refused.value.path == path
    assert refused.value.line == line_of_text(source, line_start, occurrence), str(refused.value)
    assert str(refused.value).startswith(f"第 {refused.value.line} 行：")


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ('version = 1\ntitle = "未闭合\n', 2),
        ("version = 1\n[[clauses]\n", 2),
        ("version = 1\nversion = 2\n", 2),
        ("version = [\n", 1),
    ],
)
def test_toml_that_does_not_parse_names_its_line(source: str, line: int) -> None:
    with pytest.raises(TemplateError) as refused:
        load_template(source)
    assert refused.value.code == "syntax" and refused.value.line == line


def test_the_line_index_follows_tables_arrays_and_multiline_values() -> None:
    source = 'a = 1\ntext = """\nb = 2\n"""\n[[items]]\nname = "x"\n[items.sub]\nc = [\n  1,\n  2,\n]\n[[items]]\nname = "y"\n'
    lines = key_lines(source)
    assert lines[("a",)] == 1 and lines[("text",)] == 2 and ("b",) not in lines
    assert lines[("items", 0)] == 5 and lines[("items", 0, "name")] == 6
    assert lines[("items", 0, "sub", "c")] == 8 and lines[("items", 0, "sub", "c", 1)] == 10
    assert lines[("items", 1, "name")] == 13
