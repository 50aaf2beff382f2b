"""A provider faking visits with old pictures: the same photo used for a second visit, a re-shot or
re-saved copy of it, a photo taken hours away from the visit — each raises its flag on the visit
(the first one serious, so the visit is not paid for as delivered)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

from PIL import Image

from carepact.jobs.tables import Job
from tests.images import encode, exif, scene
from tests.platform.test_photos_api import upload

WORKER = "weibin_worker"
SH = dt.timezone(dt.timedelta(hours=8))


def now() -> dt.datetime:
    return dt.datetime.now(SH)


async def visit_with(api, household: int, data: bytes) -> dict:
    """A visit checked in and out with one photo of ``data``, once the photo job has assessed it."""
    photo_id, r = await upload(api, WORKER, household, data)
    assert r.status_code == 201, r.text
    start = now() - dt.timedelta(minutes=40)
    visit_id = str(uuid.uuid4())
    r = await api(WORKER).post(
        "/api/visits/checkin",
        json={
            "id": visit_id,
            "household_id": household,
            "device_time": start.isoformat(),
            "sent_at": now().isoformat(),
            "manual_reason": "card_damaged",
            "photo_ids": [str(photo_id)],
        },
    )
    assert r.status_code == 201, r.text
    r = await api(WORKER).post(
        f"/api/visits/{visit_id}/checkout",
        json={"device_time": now().isoformat(), "sent_at": now().isoformat(), "services": ["cleaning"]},
    )
    assert r.status_code == 200, r.text
    # The photo job ends by assessing the visit's photos again (carepact.worker.process_photo).
    deadline = time.monotonic() + 30
    while (await Job.select(Job.status).where(Job.key == f"photo:{photo_id}").first())["status"] != "succeeded":
        assert time.monotonic() < deadline, "the photo job did not finish"
        await asyncio.sleep(0.05)
    return (await api(WORKER).get(f"/api/visits/{visit_id}")).json()


def flags(visit: dict) -> dict[str, dict]:
    return {f["code"]: f for f in visit["flags"]}


async def test_a_photo_used_again_its_copies_and_old_photos_are_flagged_on_the_visit(api, world) -> None:
    households = [h["household_id"] for h in (await api(WORKER).get("/api/visits/today")).json()]
    taken = f"{now():%Y:%m:%d %H:%M:%S}"
    picture = scene(171, (1200, 900))
    original = encode(picture, quality=90, exif=exif(taken=taken, offset="+08:00"))
    first = await visit_with(api, households[5], original)
    assert "duplicate_photo" not in flags(first) and "similar_photo" not in flags(first)

    # The very same file for another visit: serious, naming the visit it was first used for.
    again = await visit_with(api, households[6], original)
    duplicate = flags(again)["duplicate_photo"]
    assert duplicate["severity"] == "serious" and duplicate["evidence"]["other_visit"] == first["id"]

    # A smaller, re-compressed copy of it (a screenshot, a re-save): a different file, the same picture.
    copy = encode(picture.resize((900, 675), Image.Resampling.LANCZOS), quality=70, exif=exif(taken=taken))
    similar = flags(await visit_with(api, households[7], copy))["similar_photo"]
    assert similar["severity"] == "warning" and similar["evidence"]["other_visit"] in (first["id"], again["id"])

    # A new picture, but taken the day before the visit.
    old = encode(
        scene(172, (1200, 900)),
        quality=90,
        exif=exif(taken=f"{now() - dt.timedelta(days=1):%Y:%m:%d %H:%M:%S}", offset="+08:00"),
    )
    late = flags(await visit_with(api, households[8], old))
    assert late["photo_time_mismatch"]["evidence"]["minutes"] >= 20 * 60
    assert "duplicate_photo" not in late and "similar_photo" not in late
