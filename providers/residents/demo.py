"""The demo hospital's recent weeks: care plans, medication orders and every dose, daily records
(one by one and by ward round), a few incidents (one serious), a handover per ward per day and
a wristband per resident. Synthetic: generic drug names, invented notes, the demo's invented people.
Bulk inserts in one transaction, so a month for 100 residents builds in seconds."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from typing import Any

import msgspec

from carepact.accounts.tables import Account, Role
from carepact.audit.services import SYSTEM, record
from carepact.cards.tables import Card, CardSubject
from carepact.dates import SHANGHAI, local_today
from carepact.db import atomic, engine, is_postgres
from carepact.notifications.services import notify
from carepact.notifications.tables import NotificationSeverity
from carepact.registry.tables import Organisation, OrganisationKind, Resident
from providers.residents import scope
from providers.residents.handover import summarise
from providers.residents.incidents import NOTIFY_KIND, incident_link
from providers.residents.medication import dose_key, slots
from providers.residents.schemas import INCIDENT_KIND_LABELS, SERVICE_OF_KIND
from providers.residents.services import present_on
from providers.tables import (
    CareGoal,
    CareGoalReview,
    CareKind,
    CareRecord,
    DoseOutcome,
    DoseRecord,
    GoalKind,
    GoalOutcome,
    Handover,
    Incident,
    IncidentKind,
    IncidentSeverity,
    MedicationOrder,
    MedicationRoute,
    WardRound,
)
from providers.visits.demo import indexes_built_after

HANDOVER_DAYS = 31  # handovers are written for the last month of a longer history


class CareDemoSummary(msgspec.Struct, kw_only=True):
    created: bool
    residents: int
    days: int
    records: int
    doses: int
    incidents: int
    handovers: int


# Generic names only, at ordinary doses; which resident gets which is chance, not a diagnosis.
DRUGS = [
    ("利培酮片", "2 mg"),
    ("奥氮平片", "10 mg"),
    ("阿立哌唑片", "10 mg"),
    ("喹硫平片", "200 mg"),
    ("丙戊酸钠缓释片", "500 mg"),
    ("碳酸锂缓释片", "300 mg"),
    ("盐酸苯海索片", "2 mg"),
    ("劳拉西泮片", "0.5 mg"),
]
TIMES = [["08:00"], ["08:00", "20:00"], ["08:00", "12:00", "18:00"], ["21:00"], ["07:30", "19:30"]]
GOALS = {
    GoalKind.treatment: ["规律服药，精神症状保持稳定", "减少幻听发作，夜间能安静入睡", "情绪波动时能主动告知医护人员"],
    GoalKind.rehabilitation: ["每周参加工娱治疗不少于 4 次", "能独立完成简单手工作业", "能与病友进行日常交流"],
    GoalKind.nursing: ["个人卫生基本自理，每周沐浴 2 次", "进食正常，体重保持稳定", "无跌倒、无压疮"],
}
NOT_GIVEN_REASONS = {
    DoseOutcome.refused: ["患者拒绝服药，劝说无效", "称药物太苦，拒服"],
    DoseOutcome.held: ["外出检查未返回，遵医嘱暂停", "嗜睡明显，医生嘱暂停一次"],
    DoseOutcome.missed: ["交接遗漏，已报告护士长"],
}
DETAILS = {
    CareKind.treatment: ["病情平稳，继续原方案", "血压 128/80，脉搏 76", "诉睡眠欠佳，医生调整作息指导"],
    CareKind.mood_behaviour: ["与病友交流增多", "午后情绪低落，经安抚好转", "自语较多，已告知医生"],
    CareKind.meal: ["进食较慢，协助喂食", "食欲好"],
    CareKind.sleep: ["夜间起床一次，护士陪伴后入睡", "入睡困难，凌晨 1 点后入睡"],
}
MOODS = ["stable"] * 16 + ["low", "anxious", "withdrawn", "agitated", "psychotic"]
MEALS = ["all"] * 6 + ["most", "most", "half", "little"]
SLEEPS = ["good"] * 6 + ["fair", "fair", "poor"]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(dt.UTC)


async def _insert(table: Any, rows: list, chunk: int = 400) -> None:
    for start in range(0, len(rows), chunk):
        await table.insert(*rows[start : start + chunk])


async def _bulk(table: Any, rows: list[dict[str, Any]]) -> None:
    """Many rows through the transaction's own connection (executemany). Piccolo builds a table
    object and an SQL string per row, which for a month of records is most of the build; the
    values are the ones Piccolo would store (SQLite gets them through Piccolo's adapters)."""
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    if is_postgres():
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    else:
        marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})'
    transaction = engine().current_transaction.get()
    assert transaction is not None, "bulk inserts run inside atomic()"
    await transaction.connection.executemany(sql, [tuple(r[c] for c in columns) for r in rows])


async def build_resident_care(
    days: int = 30, seed: int = 2026, paying_contracts: dict[int, str] | None = None
) -> CareDemoSummary:
    """Records for the last ``days`` days (today up to now) of every facility resident in the demo;
    does nothing if any care record exists. ``paying_contracts`` (stay id → contract code) names
    the contract that pays for each stay: the composition root reads it from contracts' coverage."""
    if await CareRecord.exists():
        return CareDemoSummary(
            created=False,
            residents=await Resident.count(),
            days=days,
            records=await CareRecord.count(),
            doses=await DoseRecord.count(),
            incidents=await Incident.count(),
            handovers=await Handover.count(),
        )
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    today = local_today()
    first_day = today - dt.timedelta(days=days - 1)
    counts: Counter[str] = Counter()
    async with atomic():
        facilities = await Organisation.select(Organisation.id, Organisation.name, Organisation.region).where(
            Organisation.kind == OrganisationKind.facility.value
        )
        for contract_stay, code in (paying_contracts or {}).items():
            await Resident.update({Resident.contract_code: code}).where(
                (Resident.id == contract_stay) & (Resident.contract_code == "")
            )
        for facility in facilities:
            staff = (
                await Account.select(Account.id, Account.display_name)
                .where((Account.organisation == facility["id"]) & (Account.role == Role.care_home_staff.value))
                .order_by(Account.id)
                .first()
            )
            stays = await Resident.select(*scope.STAY_COLUMNS).where(
                (Resident.facility == facility["id"])
                & (Resident.admitted_on <= today)
                & (Resident.discharged_on.is_null() | (Resident.discharged_on >= first_day))
            )
            if staff is None or not stays:
                continue
            await _facility(rng, facility, staff, stays, first_day, today, now, counts)
        await record(SYSTEM, "demo.resident_care", "demo", "residents", detail={"days": days, **counts})
    return CareDemoSummary(
        created=True,
        residents=counts["residents"],
        days=days,
        records=counts["records"],
        doses=counts["doses"],
        incidents=counts["incidents"],
        handovers=counts["handovers"],
    )


async def _facility(
    rng: random.Random,
    facility: dict[str, Any],
    staff: dict[str, Any],
    stays: list[dict[str, Any]],
    first_day: dt.date,
    today: dt.date,
    now: dt.datetime,
    counts: Counter[str],
) -> None:
    staff_id = staff["id"]
    ids = [s["id"] for s in stays]
    counts["residents"] += len(stays)

    # Wristbands: version 1 for everyone.
    await _insert(
        Card,
        [
            Card(subject=CardSubject.resident.value, subject_id=i, version=1, issued_by=staff_id, reason="入院制作腕带")
            for i in ids
        ],
    )

    # Care plans: one goal of each kind; a few reviews are overdue, so the alert shows.
    goals = []
    for s in stays:
        for goal_kind, texts in GOALS.items():
            due = today + dt.timedelta(days=rng.randrange(3, 60))
            if rng.random() < 0.08:
                due = today - dt.timedelta(days=rng.randrange(1, 12))
            goals.append(
                CareGoal(
                    resident=s["id"],
                    kind=goal_kind.value,
                    goal_protected=scope.sealed(rng.choice(texts), scope.GOAL),
                    set_on=max(s["admitted_on"], today - dt.timedelta(days=90)),
                    review_due_on=due,
                    last_reviewed_on=today - dt.timedelta(days=rng.randrange(20, 40)),
                    created_by=staff_id,
                )
            )
    await _insert(CareGoal, goals)
    saved_goals = await CareGoal.select(CareGoal.id, CareGoal.last_reviewed_on, CareGoal.review_due_on).where(
        CareGoal.resident.is_in(ids)
    )
    await _insert(
        CareGoalReview,
        [
            CareGoalReview(
                goal=g["id"],
                reviewed_on=g["last_reviewed_on"],
                outcome=GoalOutcome.continued.value,
                note_protected=scope.sealed("目标部分达成，继续执行", scope.GOAL_REVIEW),
                next_review_on=g["review_due_on"],
                reviewed_by=staff_id,
            )
            for g in saved_goals
        ],
    )

    # Medication: 1–3 standing orders each.
    orders = []
    for s in stays:
        for drug, dose in rng.sample(DRUGS, rng.choice([1, 2, 2, 3])):
            orders.append(
                MedicationOrder(
                    resident=s["id"],
                    drug_protected=scope.sealed(
                        msgspec.json.encode({"drug": drug, "dose": dose, "instructions": "饭后服用"}).decode(),
                        scope.DRUG,
                    ),
                    route=MedicationRoute.oral.value,
                    times=",".join(rng.choice(TIMES)),
                    starts_on=max(s["admitted_on"], first_day - dt.timedelta(days=rng.randrange(0, 60))),
                    prescribed_by=rng.choice(["王医生", "李医生", "赵医生"]),
                    created_by=staff_id,
                )
            )
    await _insert(MedicationOrder, orders)
    by_id = {s["id"]: s for s in stays}
    # Doses up to two hours ago are recorded; the most recent stay open, so the shift sees them due.
    recorded_until = now - dt.timedelta(hours=2)
    doses: list[dict[str, Any]] = []
    for order in await MedicationOrder.select().where(MedicationOrder.resident.is_in(ids)):
        stay = by_id[order["resident"]]
        start = dt.datetime.combine(first_day, dt.time(), tzinfo=SHANGHAI)
        for moment in slots(order, start, recorded_until):
            if not scope.in_stay(stay, moment.date()):
                continue
            outcome = rng.choices(
                [DoseOutcome.given, DoseOutcome.refused, DoseOutcome.held, DoseOutcome.missed], [950, 28, 15, 7]
            )[0]
            reason = "" if outcome == DoseOutcome.given else rng.choice(NOT_GIVEN_REASONS[outcome])
            doses.append(
                {
                    "key": dose_key(order["id"], moment),
                    "order": order["id"],
                    "resident": order["resident"],
                    "scheduled_for": moment.astimezone(dt.UTC),
                    "outcome": outcome.value,
                    "reason_protected": scope.sealed(reason, scope.DOSE_REASON),
                    "recorded_at": moment.astimezone(dt.UTC) + dt.timedelta(minutes=rng.randrange(0, 40)),
                    "recorded_by": staff_id,
                    "created_at": now,
                }
            )
    # Handovers summarise only their last day or so: what is older than the first of them is written
    # after them, so their queries never wade through a year (see the end).
    handovers_from = max(first_day, today - dt.timedelta(days=HANDOVER_DAYS - 1))
    recent_from = _at(handovers_from - dt.timedelta(days=8), 0, 0)
    await _bulk(DoseRecord, [d for d in doses if d["scheduled_for"] >= recent_from])
    counts["doses"] += len(doses)

    # Daily records: morning care and (on weekdays) occupational therapy by ward round; the rest
    # one resident at a time.
    rounds: list[WardRound] = []
    care: list[dict[str, Any]] = []

    def add(
        stay_id: int,
        kind: CareKind,
        activity: str,
        at: dt.datetime,
        observation: str = "",
        ward_round: uuid.UUID | None = None,
        concern: bool = False,
    ) -> None:
        service = SERVICE_OF_KIND[kind]
        note = ""
        if ward_round is None and kind in DETAILS and rng.random() < 0.15:
            note = rng.choice(DETAILS[kind])
        care.append(
            {
                "id": _uuid(rng),
                "resident": stay_id,
                "kind": kind.value,
                "service": service.value if service else "",
                "activity": activity,
                "observation": observation,
                "details_protected": scope.sealed(note, scope.RECORD_DETAILS),
                "concern": concern,
                "performed_at": at,
                "recorded_by": staff_id,
                "ward_round": ward_round,
                "digest": "",
                "created_at": at,
            }
        )

    day = first_day
    while day <= today:
        present = [s for s in stays if present_on(day, s["admitted_on"], s["discharged_on"])]
        wards = sorted({s["ward"] for s in present})
        for activity, kind, at, weekdays_only in (
            ("晨间护理", CareKind.nursing_hygiene, _at(day, 7, 0), False),
            ("工娱治疗", CareKind.rehabilitation, _at(day, 14, 30), True),
        ):
            if at > now or (weekdays_only and day.weekday() >= 5):
                continue
            for ward in wards:
                on_ward = [s for s in present if s["ward"] == ward and rng.random() > 0.03]
                round_id = _uuid(rng)
                rounds.append(
                    WardRound(
                        id=round_id,
                        facility=facility["id"],
                        ward=ward,
                        kind=kind.value,
                        activity=activity,
                        performed_at=at,
                        resident_count=len(on_ward),
                        recorded_by=staff_id,
                        digest="",
                    )
                )
                for s in on_ward:
                    add(s["id"], kind, activity, at, ward_round=round_id)
        for s in present:
            moments = [
                (CareKind.sleep, "夜间睡眠", _at(day, 6, 30), rng.choice(SLEEPS)),
                (CareKind.meal, "早餐", _at(day, 7, 30), rng.choice(MEALS)),
                (
                    CareKind.treatment,
                    "医生查房" if day.weekday() < 5 else "生命体征测量",
                    _at(day, 9, rng.randrange(0, 59)),
                    "",
                ),
                (CareKind.meal, "午餐", _at(day, 11, 30), rng.choice(MEALS)),
                (CareKind.mood_behaviour, "日间观察", _at(day, 16, rng.randrange(0, 59)), rng.choice(MOODS)),
                (CareKind.meal, "晚餐", _at(day, 17, 30), rng.choice(MEALS)),
            ]
            if day.weekday() in (1, 4):
                moments.append((CareKind.nursing_hygiene, "沐浴", _at(day, 19, 0), ""))
            for kind, activity, at, observation in moments:
                if at <= now:
                    add(s["id"], kind, activity, at, observation, concern=observation in ("agitated", "psychotic"))
        day += dt.timedelta(days=1)
    await _insert(WardRound, rounds)
    await _bulk(CareRecord, [r for r in care if r["performed_at"] >= recent_from])
    counts["records"] += len(care)

    # Incidents: a handful over the period, one serious (it notifies the county's auditors).
    plan = [
        (IncidentKind.fall, IncidentSeverity.minor, "如厕时滑倒，无明显外伤", "检查生命体征，加强如厕陪护"),
        (IncidentKind.aggression, IncidentSeverity.moderate, "与病友争执后推搡", "隔离安抚，医生评估，调整看护"),
        (IncidentKind.illness, IncidentSeverity.moderate, "发热 38.5℃，咳嗽", "物理降温，内科会诊"),
        (IncidentKind.absconding, IncidentSeverity.minor, "试图随探视人员离开病区，被及时劝回", "加强门禁"),
        (IncidentKind.fall, IncidentSeverity.minor, "下床时跌坐地上", "床旁加护栏"),
        (
            IncidentKind.self_harm_risk,
            IncidentSeverity.serious,
            "言语流露轻生念头，藏匿药片被发现",
            "一级看护，24 小时专人陪护，医生会诊调整治疗",
        ),
    ]
    span = max(1, (today - first_day).days)
    rows = []
    for n, (incident_kind, severity, description, actions) in enumerate(plan):
        stay = stays[(n * 7 + 3) % len(stays)]
        back = 2 if severity == IncidentSeverity.serious else rng.randrange(0, span + 1)
        occurred = min(_at(today - dt.timedelta(days=back), rng.randrange(8, 20), rng.randrange(0, 59)), now)
        if not scope.in_stay(stay, occurred.astimezone(SHANGHAI).date()):
            continue
        incident_id = _uuid(rng)
        rows.append(
            Incident(
                id=incident_id,
                resident=stay["id"],
                facility=facility["id"],
                kind=incident_kind.value,
                severity=severity.value,
                occurred_at=occurred,
                description_protected=scope.sealed(description, scope.INCIDENT),
                actions_protected=scope.sealed(actions, scope.INCIDENT_ACTIONS),
                reported_by=staff_id,
                reported_at=occurred + dt.timedelta(minutes=20),
                digest="",
            )
        )
        if severity == IncidentSeverity.serious:
            when = occurred.astimezone(SHANGHAI)
            await notify(
                f"incident:{incident_id}:county_auditor",
                kind=NOTIFY_KIND,
                severity=NotificationSeverity.serious,
                title=f"严重事件：{INCIDENT_KIND_LABELS[incident_kind]}（{facility['name']}{stay['ward']}）",
                body=f"{when:%m月%d日 %H:%M} 发生，{staff['display_name']}上报。请查看住院人员记录并跟进处置。",
                link=incident_link(stay["id"], incident_id),
                role=Role.county_auditor,
                region_id=facility["region"],
            )
    await _insert(Incident, rows)
    counts["incidents"] += len(rows)

    # A morning handover per ward per day of the last weeks, summarised from what was recorded
    # before it (a shift reads the recent ones; summarising a year of them would be most of a year's build).
    handovers = []
    for ward in sorted({s["ward"] for s in stays}):
        previous = None
        day = handovers_from
        while day <= today:
            end = _at(day, 8, 0)
            if end > now:
                break
            start = previous or end - dt.timedelta(hours=24)
            summary = await summarise(facility["id"], ward, start, end)
            handovers.append(
                Handover(
                    facility=facility["id"],
                    ward=ward,
                    period_start=start,
                    period_end=end,
                    summary=msgspec.json.encode(summary).decode(),
                    created_by=staff_id,
                    created_at=end,
                )
            )
            previous = end
            day += dt.timedelta(days=1)
    await _insert(Handover, handovers)
    counts["handovers"] += len(handovers)

    # The older months of a long history, in bulk: each table's indexes built once afterwards.
    async with indexes_built_after((DoseRecord, CareRecord)):
        await _bulk(DoseRecord, sorted((d for d in doses if d["scheduled_for"] < recent_from), key=lambda d: d["key"]))
        await _bulk(CareRecord, sorted((r for r in care if r["performed_at"] < recent_from), key=lambda r: r["id"].int))
