"""The monthly county report for people: a printable Chinese A4 document with the month's figures,
charts (SVG drawn here, with presentation attributes only: the app's CSP allows no inline style)
and each provider's findings.

Served by the app it links /print.css; the job's file is ``standalone``: the same sheet inlined, so
the downloaded file prints the same when opened from disk.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from carepact.dates import SHANGHAI
from carepact.settings import STATIC_DIR
from contracts.money import yuan
from contracts.oversight import scoring
from contracts.oversight.schemas import Dashboard, Figures
from contracts.oversight.services import clause_counts

PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a"]


def _month_words(key: str) -> str:
    return f"{int(key[:4])}年{int(key[5:7])}月"


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def line_chart(
    label: str, months: list[str], series: list[tuple[str, list[float | None]]], target: float | None
) -> str:
    """Shares (0–1) over months, one line per series, the target as a dashed line."""
    width, height, left, right, top, bottom = 640, 240, 44, 12, 12, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(months) - 1)

    def x(n: int) -> float:
        return left + (n * step if len(months) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" fill="#57606a">{int(tick * 100)}%</text>'
        )
    for n, key in enumerate(months):
        body.append(
            f'<text x="{x(n):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" fill="#57606a">{int(key[5:7])}月</text>'
        )
    if target is not None:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(target):.1f}" y2="{y(target):.1f}" stroke="#cf222e" '
            f'stroke-width="1.5" stroke-dasharray="6 4"/><text x="{width - right}" y="{y(target) - 4:.1f}" '
            f'text-anchor="end" font-size="11" fill="#cf222e">目标 {scoring.percent(target)}</text>'
        )
    for k, (name, values) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        run: list[str] = []
        for n, value in enumerate([*values, None]):
            if value is None:
                if len(run) > 1:
                    body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>')
                run = []
                continue
            run.append(f"{x(n):.1f},{y(value):.1f}")
            body.append(f'<circle cx="{x(n):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}"/>')
        legend_x = left + (k % 3) * 200
        legend_y = height - 22 + (k // 3) * 14
        body.append(
            f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{legend_y}" font-size="11" fill="#24292f">{escape(name)}</text>'
        )
    return _svg(width, height + 14 * ((len(series) - 1) // 3), label, body)


def bar_chart(label: str, bars: list[tuple[str, float | None]], target: float | None, scale: float = 1.0) -> str:
    """One horizontal bar per row (value of ``scale``), the target as a dashed line."""
    width, row, left, right = 640, 26, 200, 60
    height = row * max(1, len(bars)) + 24
    plot_w = width - left - right
    body = []
    for n, (name, value) in enumerate(bars):
        top = 8 + n * row
        body.append(
            f'<text x="{left - 8}" y="{top + 15}" text-anchor="end" font-size="12" fill="#24292f">{escape(name[:16])}</text>'
        )
        if value is None:
            body.append(f'<text x="{left + 4}" y="{top + 15}" font-size="12" fill="#57606a">无数据</text>')
            continue
        length = plot_w * max(0.0, min(1.0, value / scale))
        colour = PALETTE[0] if target is None or value >= target else PALETTE[1]
        shown = scoring.percent(value) if scale == 1.0 else f"{value:g}"
        body.append(
            f'<rect x="{left}" y="{top + 3}" width="{length:.1f}" height="{row - 8}" fill="{colour}"/>'
            f'<text x="{left + length + 4:.1f}" y="{top + 15}" font-size="12" fill="#24292f">{shown}</text>'
        )
    if target is not None:
        tx = left + plot_w * min(1.0, target / scale)
        body.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="2" y2="{height - 18}" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{tx:.1f}" y="{height - 4}" text-anchor="middle" font-size="11" fill="#cf222e">目标</text>'
        )
    return _svg(width, height, label, body)


def _met(value: float | None, target: float) -> str:
    if value is None:
        return "—"
    return "达标" if value >= target else '<strong class="below">未达标</strong>'


def _figure_rows(t: Figures) -> list[tuple[str, str, str, str]]:
    illness = (
        f"{t.illness_within_target} / {t.illness_reported} 次（中位 {t.illness_median_hours:g} 小时）"
        if t.illness_median_hours is not None
        else f"{t.illness_within_target} / {t.illness_reported} 次"
    )
    per_100 = t.findings_per_100
    return [
        (
            scoring.LABELS["coverage"],
            f"{scoring.percent(t.coverage)}（{t.households_met:,} / {t.households_due:,} 户，一次未上门 {t.households_unvisited:,} 户）",
            f"≥ {scoring.percent(scoring.COVERAGE_TARGET)}",
            _met(t.coverage, scoring.COVERAGE_TARGET),
        ),
        (
            scoring.LABELS["verified"],
            f"{scoring.percent(t.verified_rate)}（{t.visits_evv:,} / {t.visits_completed:,} 次；核验通过 {t.visits_verified:,} 次）",
            f"≥ {scoring.percent(scoring.VERIFIED_TARGET)}",
            _met(t.verified_rate, scoring.VERIFIED_TARGET),
        ),
        (
            scoring.LABELS["on_time"],
            f"{scoring.percent(t.on_time_rate)}（{t.on_time:,} / {t.on_time_judged:,} 个上门日）",
            f"≥ {scoring.percent(scoring.ON_TIME_TARGET)}",
            _met(t.on_time_rate, scoring.ON_TIME_TARGET),
        ),
        (
            scoring.LABELS["illness"],
            f"{scoring.percent(t.illness_rate)}（{illness}）",
            f"≥ {scoring.percent(scoring.ILLNESS_TARGET)}",
            _met(t.illness_rate, scoring.ILLNESS_TARGET),
        ),
        (
            scoring.LABELS["findings"],
            f"{t.findings:,} 条" + (f"（每百户 {per_100:.1f} 条）" if per_100 is not None else ""),
            f"每百户 ≤ {scoring.FINDINGS_PER_100_TARGET:g} 条",
            "—"
            if per_100 is None
            else ("达标" if per_100 <= scoring.FINDINGS_PER_100_TARGET else '<strong class="below">未达标</strong>'),
        ),
    ]


def _table(headers: list[str], rows: list[list[str]], empty: str, numeric: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(f"<th{' class=num' if n in numeric else ''}>{escape(h)}</th>" for n, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if n in numeric else ''}>{cell}</td>" for n, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _stylesheet(standalone: bool) -> str:
    if standalone:
        return f"<style>{(STATIC_DIR / 'print.css').read_text(encoding='utf-8')}</style>"
    return '<link rel="stylesheet" href="/print.css">'


def report_html(d: Dashboard, *, standalone: bool = False) -> str:
    t = d.totals
    title = f"{d.region.name}{_month_words(d.month)}特困人员照料服务审核报告"
    computed = d.computed_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")
    info = [
        ("统计范围", d.region.name),
        (
            "统计月份",
            _month_words(d.month)
            + ("（本月尚未结束，计至昨天）" if d.month == f"{dt.datetime.now(SHANGHAI):%Y-%m}" else ""),
        ),
        ("趋势区间", f"{_month_words(d.months[0])}至{_month_words(d.months[-1])}"),
        ("服务机构", f"{len(d.providers)} 家"),
        ("生成时间", computed),
    ]
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>{_stylesheet(standalone)}</head>",
        '<body><main class="statement county-report">',
        f"<h1>{escape(title)}</h1>",
        '<table class="info">' + "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in info) + "</table>",
        "<h2>一、本月总体情况</h2>",
        _table(
            ["指标", "本月", "目标", "是否达标"],
            [[escape(a), escape(b), escape(c), e] for a, b, c, e in _figure_rows(t)],
            "",
        ),
        '<figure class="report-chart">',
        line_chart(
            "逐月趋势：覆盖率、电子核验率、按时上门率",
            d.months,
            [
                (scoring.LABELS["coverage"], [f.coverage for f in d.trend]),
                (scoring.LABELS["verified"], [f.verified_rate for f in d.trend]),
                (scoring.LABELS["on_time"], [f.on_time_rate for f in d.trend]),
            ],
            scoring.VERIFIED_TARGET,
        ),
        "<figcaption>逐月趋势（虚线为电子核验率目标 80%）</figcaption></figure>",
        "<h2>二、服务机构排名</h2>",
    ]
    ranked = [p for p in d.providers if p.score is not None]
    if ranked:
        parts.append(
            '<figure class="report-chart">'
            + bar_chart("各服务机构本月综合得分", [(p.name, p.score) for p in ranked], None, scale=100.0)
            + "<figcaption>各服务机构本月综合得分（满分 100）</figcaption></figure>"
        )
        parts.append(
            '<figure class="report-chart">'
            + bar_chart("各服务机构本月覆盖率", [(p.name, p.figures.coverage) for p in ranked], scoring.COVERAGE_TARGET)
            + "<figcaption>各服务机构本月覆盖率（红色为低于目标）</figcaption></figure>"
        )
    parts.append(
        _table(
            ["名次", "服务机构", "得分", "覆盖率", "电子核验率", "按时率", "违约发现", "主要失分原因"],
            [
                [
                    str(p.rank or "—"),
                    escape(p.name),
                    "—" if p.score is None else f"{p.score:g}",
                    scoring.percent(p.figures.coverage),
                    scoring.percent(p.figures.verified_rate),
                    scoring.percent(p.figures.on_time_rate),
                    f"{p.figures.findings:,}",
                    escape("；".join(f"{r.label} {r.value}（失 {r.points_lost:g} 分）" for r in p.reasons[:3]) or "无"),
                ]
                for p in d.providers
            ],
            "本月没有服务机构的数据。",
            {0, 2, 3, 4, 5, 6},
        )
    )
    parts.append("<h2>三、各服务机构的违约发现（按条款）</h2>")
    with_findings = [p for p in d.providers if p.figures.findings]
    if with_findings:
        for p in with_findings:
            parts.append(f"<h3>{escape(p.name)}（{p.figures.findings:,} 条）</h3>")
            parts.append(
                _table(
                    ["条款", "违约发现"],
                    [
                        [escape(c.label), f"{c.findings:,}"]
                        for c in clause_counts(p.figures.findings_by_clause, d.clause_titles)
                    ],
                    "",
                    {1},
                )
            )
    else:
        parts.append('<p class="empty">本月没有违约发现。</p>')
    parts.append("<h2>四、未按协议上门的村（社区）</h2>")
    parts.append(
        _table(
            ["乡镇（街道）", "村（社区）", "应上门户", "达标户", "上门不足户", "一次未上门户"],
            [
                [
                    escape(v.township_name),
                    escape(v.village_name),
                    f"{v.households_due:,}",
                    f"{v.households_met:,}",
                    f"{v.households_short:,}",
                    f"{v.households_unvisited:,}",
                ]
                for v in d.villages
            ],
            "本月各村（社区）的覆盖户均已按协议上门。",
            {2, 3, 4, 5},
        )
    )
    if d.facilities:
        parts.append("<h2>五、集中供养服务记录</h2>")
        parts.append(
            _table(
                ["供养机构", "在院床日", "服务记录", "每床日记录", "已给药剂次", "漏服剂次", "是否达标"],
                [
                    [
                        escape(f.name),
                        f"{f.figures.resident_days:,}",
                        f"{f.figures.service_records:,}",
                        "—"
                        if f.figures.records_per_resident_day is None
                        else f"{f.figures.records_per_resident_day:g}",
                        f"{f.figures.doses_given:,}",
                        f"{f.figures.doses_missed:,}",
                        _met(f.figures.records_per_resident_day, scoring.RECORDS_PER_RESIDENT_DAY_TARGET),
                    ]
                    for f in d.facilities
                ],
                "",
                {1, 2, 3, 4, 5},
            )
        )
    parts.append("<h2>六、合同覆盖与预算执行</h2>")
    parts.append(
        _table(
            ["合同", "服务机构", "应上门户", "覆盖率", f"{d.month[:4]}年承诺", "已交付", "已支付"],
            [
                [
                    escape(c.code),
                    escape(c.supplier_name),
                    f"{c.households_due:,}",
                    scoring.percent(c.coverage),
                    yuan(c.committed_fen),
                    yuan(c.delivered_fen),
                    yuan(c.paid_fen),
                ]
                for c in d.contracts
            ],
            "没有可查看的合同。",
            {2, 3, 4, 5, 6},
        )
    )
    parts.append('<h2>指标口径</h2><dl class="definitions">')
    parts += [
        f"<dt>{escape(x.label)}"
        + (f"（目标 {escape(x.target)}）" if x.target else "")
        + f"</dt><dd>{escape(x.text)}</dd>"
        for x in d.definitions
    ]
    parts.append("</dl>")
    parts.append(
        '<table class="signatures"><tr><th>审核人（签字）</th><th>县（区）民政局（盖章）</th></tr>'
        '<tr><td class="blank"></td><td class="blank"></td></tr></table>'
        f'<p class="footer">本报告由特困人员照料服务平台根据{computed}的数据生成；数字均由数据库按上述口径统计。</p>'
        "</main></body></html>"
    )
    return "".join(parts)
