"""Card jobs: a printable sheet of door cards for a village or township."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from carepact.audit.services import SYSTEM, record
from carepact.cards.sheet import sheet_html
from carepact.cards.tables import Card, CardSubject
from carepact.cards.tokens import sign
from carepact.db import atomic
from carepact.jobs.services import JobContext, JobRefused
from carepact.media import storage
from carepact.privacy import mask_name
from carepact.registry.tables import Household, Person, Region


async def make_card_sheet(ctx: JobContext) -> dict[str, Any]:
    region = (
        await Region.select(Region.id, Region.name, Region.path).where(Region.id == ctx.params["region_id"]).first()
    )
    if region is None:
        raise JobRefused("region.not_found", "行政区域不存在。")
    households = (
        await Household.select(Household.id, Household.code, Household.village._.name)
        .where(Household.village._.path.like(region["path"] + "%"))
        .order_by(Household.code)
    )
    if not households:
        raise JobRefused("cards.no_households", f"{region['name']}没有登记的分散供养户。")
    ids = [h["id"] for h in households]
    await ctx.progress(0, len(ids), "正在准备卡片")
    # First cards for households that never had one: issued in one batch, one audit row.
    versions = {
        r["subject_id"]: r["version"]
        for r in await Card.select(Card.subject_id, Card.version.as_alias("version"))
        .where((Card.subject == CardSubject.household.value) & Card.subject_id.is_in(ids))
        .order_by(Card.version)
    }
    missing = [i for i in ids if i not in versions]
    if missing:
        async with atomic():
            await Card.insert(
                *[
                    Card(
                        subject=CardSubject.household.value,
                        subject_id=i,
                        version=1,
                        issued_by=ctx.params.get("owner"),
                        reason="批量制卡",
                    )
                    for i in missing
                ]
            )
            await record(
                SYSTEM,
                "card.issue_batch",
                "region",
                region["id"],
                detail={"households": len(missing), "job": str(ctx.job_id)},
            )
        versions.update(dict.fromkeys(missing, 1))
    names: dict[int, list[str]] = defaultdict(list)
    for p in await Person.select(Person.household, Person.name).where(Person.household.is_in(ids)).order_by(Person.id):
        names[p["household"]].append(mask_name(p["name"]))
    cards = []
    for n, h in enumerate(households, start=1):
        cards.append(
            {
                "names": "、".join(names[h["id"]]),
                "village": h["village.name"],
                "code": h["code"],
                "token": sign(CardSubject.household, h["id"], versions[h["id"]]),
            }
        )
        if n % 200 == 0:
            await ctx.progress(n, len(ids), f"已生成 {n} / {len(ids)} 张")
    document = sheet_html(f"{region['name']}门牌卡", cards)
    key = f"jobs/{uuid.UUID(str(ctx.job_id))}/cards.html"
    storage.put(key, document.encode())
    return {
        "file_key": key,
        "filename": f"门牌卡-{region['name']}.html",
        "media_type": "text/html; charset=utf-8",
        "count": len(cards),
        "region": region["name"],
    }
