"""A resident's month: bed-days, services delivered, medication, incidents and the care plan, as
data and as a printable Chinese A4 page."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter

from carepact.accounts.access import Principal
from carepact.audit.services import Actor
from carepact.catalogue import CATALOGUE
from carepact.dates import SHANGHAI, day_start
from carepact.registry.schemas import GENDER_LABELS
from carepact.registry.tables import Gender
from providers.residents import incidents, medication, records, scope
from providers.residents.schemas import (
    CARE_KIND_LABELS,
    FACILITY_SERVICES,
    OBSERVATIONS,
    DoseTally,
    KindCount,
    MonthlySummary,
    ObservationCount,
    ServiceDelivered,
)
from providers.residents.services import counted_days, month_of, present_on, service_days
from providers.tables import CareKind, CareRecord, DoseOutcome, Incident


async def summarise(principal: Principal, resident_id: int, month: dt.date, actor: Actor, view: str) -> MonthlySummary:
    stay = await scope.visible_stay(principal, resident_id)
    full = scope.health_shown(principal)
    all_days = month_of(month)
    days = counted_days(month)
    present = {d for d in days if present_on(d, stay["admitted_on"], stay["discharged_on"])}
    delivered, counts = await service_days([resident_id], days)
    services = [
        ServiceDelivered(
            service=s,
            label=CATALOGUE[s].label,
            records=counts[(resident_id, s.value)],
            days=len(delivered[resident_id][s.value] & present),
            days_without=len(present - delivered[resident_id][s.value]),
        )
        for s in FACILITY_SERVICES
    ]
    start, end = day_start(all_days[0]), day_start(all_days[-1] + dt.timedelta(days=1))
    kinds: Counter[str] = Counter()
    observations: Counter[tuple[str, str]] = Counter()
    concern_days: set[dt.date] = set()
    for r in await CareRecord.select(
        CareRecord.kind, CareRecord.observation, CareRecord.concern, CareRecord.performed_at
    ).where(
        (CareRecord.resident == resident_id) & (CareRecord.performed_at >= start) & (CareRecord.performed_at < end)
    ):
        kinds[r["kind"]] += 1
        if r["observation"]:
            observations[(r["kind"], r["observation"])] += 1
        if r["concern"]:
            concern_days.add(scope.local_day(r["performed_at"]))
    now = dt.datetime.now(dt.UTC)
    doses = await medication.schedule([stay], start, min(end, now) - dt.timedelta(microseconds=1), False)
    outcomes = Counter(d.outcome for d in doses)
    summary = MonthlySummary(
        resident_id=resident_id,
        name=stay["person.name"],
        gender_label=GENDER_LABELS[Gender(stay["person.gender"])],
        age=scope.age(stay["person.birth_year"]),
        id_number_masked=stay["person.id_number_masked"],
        facility_name=stay["facility.name"],
        ward=stay["ward"],
        bed=stay["bed"],
        admitted_on=stay["admitted_on"],
        discharged_on=stay["discharged_on"],
        contract_code=stay["contract_code"],
        month=f"{month:%Y-%m}",
        days_in_month=len(all_days),
        bed_days=len(present),
        month_complete=len(days) == len(all_days),
        services=services,
        records_by_kind=[KindCount(kind=k, label=CARE_KIND_LABELS[k], count=kinds[k.value]) for k in CareKind],
        observations=[
            ObservationCount(kind=k, observation=code, label=label, count=observations[(k.value, code)])
            for k, options in OBSERVATIONS.items()
            for code, label in options.items()
            if observations[(k.value, code)]
        ],
        concern_days=len(concern_days),
        doses=DoseTally(
            scheduled=len(doses),
            given=outcomes[DoseOutcome.given],
            refused=outcomes[DoseOutcome.refused],
            held=outcomes[DoseOutcome.held],
            missed=outcomes[DoseOutcome.missed],
            unrecorded=outcomes[None],
        ),
        incidents=sorted(
            await incidents.briefs(
                (Incident.resident == resident_id) & (Incident.occurred_at >= start) & (Incident.occurred_at < end)
            ),
            key=lambda i: i.occurred_at,
        ),
        goals=(await records.care_plan(resident_id, full, with_reviews=False)).goals,
        health_shown=full,
    )
    await scope.log_read(actor, resident_id, view, month=summary.month, health_shown=full)
    return summary


def _rows(cells: list[list[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells)


def _table(headers: list[str], cells: list[list[str]], empty: str) -> str:
    if not cells:
        return f'<p class="empty">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{_rows(cells)}</tbody></table>"


def print_html(s: MonthlySummary, printed_at: dt.datetime) -> str:
    """A4, Chinese, no inline style or script (the app's CSP forbids them): /print.css styles it,
    and it reads well unstyled."""
    year, month = s.month.split("-")
    stay = f"{s.admitted_on:%Y年%m月%d日}入院" + (
        f"，{s.discharged_on:%Y年%m月%d日}出院" if s.discharged_on else "，在院"
    )
    facts = [
        ("姓名", s.name),
        ("性别 / 年龄", f"{s.gender_label} / {s.age} 岁"),
        ("身份证号", s.id_number_masked),
        ("病区床位", f"{s.ward} {s.bed}"),
        ("住院情况", stay),
        ("付费合同", s.contract_code or "未登记"),
    ]
    period = f"{int(year)}年{int(month)}月" + ("" if s.month_complete else "（截至打印日）")
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(s.name)} {html.escape(period)}照护月报</title>",
        '<link rel="stylesheet" href="/print.css"></head><body class="print resident-month">',
        f"<header><h1>集中供养人员月度照护小结</h1><p>{html.escape(s.facility_name)}　{html.escape(period)}</p></header>",
        '<section><h2>基本情况</h2><dl class="facts">',
        "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts),
        "</dl></section>",
        f"<section><h2>床日与服务</h2><p>本月在院 {s.bed_days} 个床日（共 {s.days_in_month} 天"
        + ("" if s.month_complete else "，本月尚未结束")
        + "）。入院当日计床日，出院当日不计。</p>",
        _table(
            ["服务项目", "记录次数", "有服务的床日", "无服务记录的床日"],
            [[x.label, str(x.records), str(x.days), str(x.days_without)] for x in s.services],
            "本月无服务记录。",
        ),
        "</section>",
        "<section><h2>日常记录</h2>",
        _table(["类别", "次数"], [[k.label, str(k.count)] for k in s.records_by_kind], "本月无日常记录。"),
        _table(
            ["观察项目", "情况", "次数"],
            [[CARE_KIND_LABELS[o.kind], o.label, str(o.count)] for o in s.observations],
            "本月无评估记录。",
        ),
        f"<p>标记“需关注”的天数：{s.concern_days} 天。</p></section>",
        "<section><h2>用药执行</h2>",
        _table(
            ["计划剂次", "已服药", "拒服", "暂停给药", "漏服", "未记录"],
            [
                [
                    str(s.doses.scheduled),
                    str(s.doses.given),
                    str(s.doses.refused),
                    str(s.doses.held),
                    str(s.doses.missed),
                    str(s.doses.unrecorded),
                ]
            ],
            "本月无用药计划。",
        ),
        "</section>",
        "<section><h2>事件</h2>",
        _table(
            ["时间", "类别", "程度"],
            [
                [f"{i.occurred_at.astimezone(SHANGHAI):%m月%d日 %H:%M}", i.kind_label, i.severity_label]
                for i in s.incidents
            ],
            "本月无事件。",
        ),
        "</section>",
        "<section><h2>护理计划</h2>",
        _table(
            ["目标类别", "目标", "状态", "下次评估"],
            [
                [g.kind_label, g.goal, g.status_label + ("（评估逾期）" if g.overdue else ""), f"{g.review_due_on}"]
                for g in s.goals
            ],
            "尚未制定护理计划。",
        ),
        "</section>",
        '<footer><p class="sign">责任护士签字：＿＿＿＿＿＿　　科室负责人签字：＿＿＿＿＿＿</p>',
        f"<p>打印时间：{printed_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}。本页含敏感个人信息，请妥善保管，勿外传。</p>",
        "</footer></body></html>",
    ]
    return "".join(parts)
