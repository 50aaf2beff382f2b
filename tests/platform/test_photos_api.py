"""Photos over HTTP: upload, in-process processing, who may see them, idempotent replays, refusals."""

from __future__ import annotations

import asyncio
import io
import time
import uuid

import pytest
from PIL import ExifTags, Image

from carepact.media import storage
from carepact.media.services import near_duplicates
from carepact.media.tables import Photo
from tests.images import encode, exif, pattern, png_claiming, scene

BAOJI = (34.3616, 107.2379)


async def first_household(api, username: str) -> int:
    r = await api(username).get("/api/households", params={"page_size": 5})
    assert r.status_code == 200, r.text
    return r.json()["items"][0]["id"]


def photo_form(data: bytes, household_id: int | None, name: str = "IMG_0001.jpg", media_type: str = "image/jpeg"):
    form = {"files": {"data": (name, data, media_type)}}
    if household_id is not None:
        form["data"] = {"household_id": str(household_id)}
    return form


async def upload(api, username: str, household_id: int | None, data: bytes, photo_id: uuid.UUID | None = None, **kw):
    photo_id = photo_id or uuid.uuid4()
    r = await api(username).request("PUT", f"/api/photos/{photo_id}", **photo_form(data, household_id, **kw))
    return photo_id, r


async def settled(api, username: str, photo_id: uuid.UUID, seconds: float = 30) -> dict:
    """Poll until the in-process job has finished the photo (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        r = await api(username).get(f"/api/photos/{photo_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] != "pending":
            return r.json()
        assert time.monotonic() < deadline, f"photo {photo_id} still pending after {seconds} s"
        await asyncio.sleep(0.05)


def phone_photo() -> bytes:
    stored = scene(11, (1200, 900)).transpose(Image.Transpose.ROTATE_90)
    return encode(stored, quality=90, exif=exif(orientation=6, taken="2026:03:05 09:15:00", gps=BAOJI))


async def test_upload_processes_in_process_and_serves_only_within_scope(api, world) -> None:
    household = await first_household(api, "weibin_worker")
    photo_id, r = await upload(api, "weibin_worker", household, phone_photo())
    assert r.status_code == 201, r.text
    assert r.json()["status"] in ("pending", "ready")
    assert r.json()["household_id"] == household

    body = await settled(api, "weibin_worker", photo_id)
    assert body["status"] == "ready" and body["status_label"] == "可查看"
    assert (body["width"], body["height"]) == (1200, 900)
    assert body["display_url"] == f"/api/photos/{photo_id}/display"
    assert not {"captured_at", "latitude", "longitude", "exif_latitude", "sha256", "original_key"} & set(body)

    display = await api("weibin_worker").get(body["display_url"])
    assert display.status_code == 200
    assert display.headers["content-type"] == "image/jpeg"
    assert display.headers["cache-control"].startswith("private")
    image = Image.open(io.BytesIO(display.content))
    assert image.size == (1200, 900)
    assert dict(image.getexif()) == {} and image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    thumb = await api("weibin_worker").get(body["thumb_url"])
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) == 320

    # What EXIF said is in the database, for trust flags, and nowhere in what is served.
    row = await Photo.select().where(Photo.id == photo_id).first()
    assert row["exif_latitude"] == pytest.approx(BAOJI[0], abs=1e-4)
    assert row["captured_at"] is not None
    assert storage.exists(row["original_key"]) and row["original_key"].startswith("originals/")
    for served in (display.content, thumb.content, r.content):
        assert b"34.36" not in served and b"Exif" not in served

    # The household's region and its provider see it; other counties and providers do not.
    for username in ("weibin_auditor", "city_admin", "renhe_manager"):
        assert (await api(username).get(f"/api/photos/{photo_id}/thumb")).status_code == 200, username
    for username in ("jintai_auditor", "kangle_manager", "jintai_worker", "kangning_staff"):
        for path in ("", "/display", "/thumb"):
            answer = await api(username).get(f"/api/photos/{photo_id}{path}")
            assert answer.status_code == 404, (username, path)
            assert answer.json()["code"] == "photo.not_found"
    # No route serves the original.
    for path in ("/original", "/raw", "/../original"):
        assert (await api("weibin_worker").get(f"/api/photos/{photo_id}{path}")).status_code == 404


async def test_uploading_for_a_household_out_of_scope_is_not_found(api, world) -> None:
    other = await first_household(api, "jintai_auditor")
    photo_id, r = await upload(api, "weibin_worker", other, encode(pattern()))
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "household.not_found"
    assert await Photo.count().where(Photo.id == photo_id) == 0


async def test_replaying_an_upload_stores_one_photo_and_other_bytes_conflict(api, world) -> None:
    from carepact.audit.tables import AuditEvent
    from carepact.jobs.tables import Job

    household = await first_household(api, "weibin_worker")
    data = encode(scene(12))
    photo_id, first = await upload(api, "weibin_worker", household, data)
    assert first.status_code == 201
    _, again = await upload(api, "weibin_worker", household, data, photo_id=photo_id)
    assert again.status_code == 200 and again.json()["id"] == str(photo_id)
    # Two requests at once with the same id: one photo still.
    results = await asyncio.gather(
        *(upload(api, "weibin_worker", household, data, photo_id=photo_id) for _ in range(3))
    )
    assert [r.status_code for _, r in results] == [200, 200, 200]
    assert await Photo.count().where(Photo.id == photo_id) == 1
    assert await Job.count().where(Job.key == f"photo:{photo_id}") == 1
    uploads = await AuditEvent.count().where(
        (AuditEvent.action == "photo.upload") & (AuditEvent.object_id == str(photo_id))
    )
    assert uploads == 1

    _, conflict = await upload(api, "weibin_worker", household, encode(scene(13)), photo_id=photo_id)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "photo.conflict" and conflict.json()["message"]
    # Someone who may not see the photo learns nothing more by replaying its id.
    jintai = await first_household(api, "jintai_auditor")
    _, foreign = await upload(api, "jintai_auditor", jintai, data, photo_id=photo_id)
    assert foreign.status_code == 409
    row = await Photo.select(Photo.sha256, Photo.original_key).where(Photo.id == photo_id).first()
    assert storage.get(row["original_key"]) == data
    assert (await settled(api, "weibin_worker", photo_id))["status"] == "ready"


async def test_upload_refusals_that_need_no_decoding(api, world) -> None:
    household = await first_household(api, "weibin_worker")
    cases = [
        (b"", 400, "photo.empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "photo.unsupported_format"),
        (encode(pattern(), "GIF"), 415, "photo.unsupported_format"),
        (b"\xff\xd8\xff" + b"\x00" * (15 * 1024 * 1024), 413, "photo.too_large"),
    ]
    for data, status, code in cases:
        photo_id, r = await upload(api, "weibin_worker", household, data)
        assert r.status_code == status, (code, r.text)
        assert r.json()["code"] == code and r.json()["message"]
        assert await Photo.count().where(Photo.id == photo_id) == 0


async def test_a_hostile_file_is_refused_with_a_reason_and_the_runner_keeps_working(api, world) -> None:
    household = await first_household(api, "weibin_worker")
    hostile = [
        (png_claiming(20_000, 20_000), "bomb.png", "image/png", "photo.too_many_pixels"),
        (encode(scene(14))[:3000], "cut.jpg", "image/jpeg", "photo.corrupt"),
        (encode(pattern()), "renamed.png", "image/png", "photo.type_mismatch"),
    ]
    for data, name, media_type, code in hostile:
        photo_id, r = await upload(api, "weibin_worker", household, data, name=name, media_type=media_type)
        assert r.status_code == 201, r.text
        body = await settled(api, "weibin_worker", photo_id)
        assert body["status"] == "refused" and body["status_label"] == "已拒收"
        assert body["error_code"] == code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error_message"])
        assert body["display_url"] is None
        served = await api("weibin_worker").get(f"/api/photos/{photo_id}/display")
        assert served.status_code == 422 and served.json()["code"] == code

    good_id, r = await upload(api, "weibin_worker", household, encode(scene(15)))
    assert (await settled(api, "weibin_worker", good_id))["status"] == "ready"


async def test_a_pending_photo_is_not_served_yet(api, world) -> None:
    household = await first_household(api, "weibin_worker")
    photo_id = uuid.uuid4()
    # A row as an upload leaves it before its job runs (no job here, so it stays pending).
    await Photo.insert(Photo(id=photo_id, household=household, sha256="0" * 64, original_key="originals/none"))
    try:
        r = await api("weibin_worker").get(f"/api/photos/{photo_id}/display")
        assert r.status_code == 409 and r.json()["code"] == "photo.not_ready"
        assert (await api("weibin_worker").get(f"/api/photos/{photo_id}")).json()["status_label"] == "处理中"
    finally:
        await Photo.delete().where(Photo.id == photo_id)


async def test_near_duplicates_are_found_through_the_hash_bands(api, world) -> None:
    weibin = await first_household(api, "weibin_worker")
    original = scene(16, (1000, 750))
    first, _ = await upload(api, "weibin_worker", weibin, encode(original, quality=92))
    recompressed, _ = await upload(api, "weibin_worker", weibin, encode(original.resize((700, 525)), quality=55))
    copy, _ = await upload(api, "weibin_worker", weibin, encode(original, quality=92))
    unrelated, _ = await upload(api, "weibin_worker", weibin, encode(scene(17, (1000, 750))))
    for photo_id in (first, recompressed, copy, unrelated):
        assert (await settled(api, "weibin_worker", photo_id))["status"] == "ready"

    found = {d.photo_id: d for d in await near_duplicates(first)}
    assert found[copy].identical and found[copy].distance == 0
    assert not found[recompressed].identical and found[recompressed].distance <= 6
    assert unrelated not in found and first not in found
