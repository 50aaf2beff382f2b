"""The field worker's phone app and the supervisors' pages, driven in headless Chromium against a
live `carepact serve`: real door-card QR images decoded in the browser, real photos, the network
cut and restored, under the server's real Content-Security-Policy."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import random
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import zxingcpp
from PIL import ExifTags, Image, ImageDraw

from carepact.registry.tables import Household
from carepact.settings import STATIC_DIR
from providers.tables import Visit, VisitPhoto
from tests.chromium import Phone, launch, log_in, open_site, phone_page, playwright_available, wait_until

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY_SCREENSHOT = "/tmp/carepact-worker-day.png"
CHECKIN_SCREENSHOT = "/tmp/carepact-checkin.png"
UNDERWAY_SCREENSHOT = "/tmp/carepact-visit-underway.png"
OFFLINE_SCREENSHOT = "/tmp/carepact-offline.png"
QUEUE_SCREENSHOT = "/tmp/carepact-review-queue.png"
DETAIL_SCREENSHOT = "/tmp/carepact-visit-detail.png"
CARDS_SCREENSHOT = "/tmp/carepact-card-print.png"
REISSUE_SCREENSHOT = "/tmp/carepact-card-reissue.png"
STAFF_SCREENSHOT = "/tmp/carepact-staff.png"
SYNC_TIMEOUT_MS = 45_000


@pytest.fixture(scope="module")
async def playwright() -> AsyncIterator[object]:
    playwright_available()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="module")
async def browser(playwright) -> AsyncIterator[object]:
    chromium = await launch(playwright)
    yield chromium
    await chromium.close()


# --- real images -------------------------------------------------------------------------------


def photo_jpeg(seed: int, taken: dt.datetime | None = None) -> bytes:
    """A photograph-like JPEG (no two seeds alike, so no near-duplicate flags) whose EXIF says it
    was taken now, Beijing time, as a phone's camera writes it."""
    rng = random.Random(seed)
    image = Image.new("RGB", (800, 600), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y, r = rng.randrange(800), rng.randrange(600), rng.randrange(20, 200)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    moment = (taken or dt.datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.DateTimeOriginal: moment.strftime("%Y:%m:%d %H:%M:%S"),
        ExifTags.Base.OffsetTimeOriginal: "+08:00",
    }
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def jpeg_file(name: str, seed: int) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": photo_jpeg(seed)}


async def card_png(api, household_id: int) -> bytes:
    """The household's door card as the bureau prints it: the real QR image."""
    r = await api("city_admin").get(f"/api/households/{household_id}/card.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    return r.content


def y4m_of(png: bytes, path: Path, frames: int = 30) -> Path:
    """A YUV4MPEG2 video (4:2:0) of the card held in front of the camera, for Chromium's fake camera."""
    width, height = 640, 480
    card = Image.open(io.BytesIO(png)).convert("L")
    side = min(width, height) - 60
    frame = Image.new("L", (width, height), 235)
    frame.paste(card.resize((side, side), Image.NEAREST), ((width - side) // 2, (height - side) // 2))
    y, cb, cr = frame.convert("RGB").convert("YCbCr").split()
    half = (width // 2, height // 2)
    body = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + body * frames)
    return path


# --- the server's side ---------------------------------------------------------------------------


async def fresh_household(api, worker: str = "weibin_worker") -> dict:
    """One of the worker's households with a home location (other tests register some without),
    no visit today and none open."""
    day = (await api(worker).get("/api/visits/today")).json()
    located = {h["id"] for h in await Household.select(Household.id).where(Household.latitude.is_not_null())}
    return next(
        h for h in day if h["household_id"] in located and not h["visited_today"] and h["open_visit_id"] is None
    )


async def at_home(household_id: int) -> dict:
    row = await Household.select(Household.latitude, Household.longitude).where(Household.id == household_id).first()
    return {"latitude": row["latitude"], "longitude": row["longitude"], "accuracy": 8}


async def visit_ids(api, household_id: int) -> set[str]:
    r = await api("city_admin").get(f"/api/visits?household_id={household_id}&page_size=200")
    return {v["id"] for v in r.json()["items"]}


async def with_ready_photos(api, visit_id: str, count: int) -> dict:
    """The visit once its photos are processed (the live server's in-process job runner)."""
    for _ in range(150):
        visit = (await api("city_admin").get(f"/api/visits/{visit_id}")).json()
        if len(visit["photos"]) == count and all(p["status"] != "pending" for p in visit["photos"]):
            return visit
        await asyncio.sleep(0.2)
    raise AssertionError(f"photos of {visit_id} not processed: {visit['photos']}")


# --- the phone ----------------------------------------------------------------------------------


async def worker_phone(browser, household_id: int) -> Phone:
    """A phone standing at the household's door, location permitted."""
    return await phone_page(browser, geolocation=await at_home(household_id), permissions=["geolocation"])


def sync_bar(page):
    return page.locator("#sync")


def day_row(page, household: dict):
    return page.locator(".day-household", has=page.get_by_text("、".join(household["names"]), exact=True))


async def sign_in_worker(phone: Phone, base_url: str, username: str = "weibin_worker") -> None:
    from playwright.async_api import expect

    await open_site(phone, base_url)
    await log_in(phone, username)
    await expect(phone.page.locator(".day-households")).to_be_visible()
    await expect(sync_bar(phone.page)).to_have_text("全部已上传")


async def check_out(page, services: list[str], photo_seed: int) -> None:
    from playwright.async_api import expect

    for label in services:
        await page.get_by_label(label, exact=True).check()
    await page.get_by_label("服务记录").fill("打扫卫生，陪老人聊天。")
    await page.get_by_label("拍签退照片").set_input_files(files=[jpeg_file("checkout.jpg", photo_seed)])
    await expect(page.locator(".photo-preview")).to_have_count(1)
    await page.get_by_role("button", name="签退", exact=True).click()
    await expect(page.get_by_text("已签退，服务已完成。")).to_be_visible()


async def close(phone: Phone) -> None:
    await phone.page.context.close()


# --- the tests ------------------------------------------------------------------------------------


async def test_worker_completes_a_visit_scanning_the_real_door_card(browser, live_server, api):
    from playwright.async_api import expect

    household = await fresh_household(api)
    hid = household["household_id"]
    card = await card_png(api, hid)
    before = await visit_ids(api, hid)
    phone = await worker_phone(browser, hid)
    page = phone.page

    await sign_in_worker(phone, live_server)
    row = day_row(page, household)
    await expect(row.get_by_role("link", name="开始服务")).to_be_visible()
    await page.screenshot(path=DAY_SCREENSHOT, full_page=True)

    # The still-photo path: the card's real QR image, decoded by jsQR inside the page.
    await page.get_by_role("link", name="扫码签到").click()
    await page.get_by_label("拍照识别").set_input_files(
        files=[{"name": "door-card.png", "mimeType": "image/png", "buffer": card}]
    )
    await expect(page.get_by_text("门牌卡有效")).to_be_visible()
    await expect(page.locator(".who-names")).to_have_text("、".join(household["names"]))
    await expect(page.locator(".position-status")).to_have_text(re.compile(r"已定位，精度约 \d+ 米"))
    await page.get_by_label("拍签到照片").set_input_files(files=[jpeg_file("checkin.jpg", 101)])
    await expect(page.locator(".photo-preview img")).to_have_count(1)
    await page.screenshot(path=CHECKIN_SCREENSHOT, full_page=True)
    await page.get_by_role("button", name="签到", exact=True).click()

    await expect(page.locator(".elapsed")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(page.locator(".upload-state")).to_have_text("本次服务的记录已全部上传。", timeout=SYNC_TIMEOUT_MS)
    visit_id = page.url.rsplit("/", 1)[1]
    await page.screenshot(path=UNDERWAY_SCREENSHOT, full_page=True)
    await check_out(page, ["家政保洁", "心理慰藉"], photo_seed=102)
    await expect(sync_bar(page)).to_have_text("全部已上传", timeout=SYNC_TIMEOUT_MS)

    # Back on the day's list, the household is done for today.
    await page.get_by_role("link", name="返回今日服务").click()
    await expect(row.get_by_text("今日已服务")).to_be_visible()

    assert await visit_ids(api, hid) - before == {visit_id}
    visit = await with_ready_photos(api, visit_id, 2)
    assert visit["presence"] == "qr" and visit["status"] == "completed"
    assert sorted(s["code"] for s in visit["services"]) == ["cleaning", "psychological_comfort"]
    assert [p["status"] for p in visit["photos"]] == ["ready", "ready"]
    assert sorted(p["stage"] for p in visit["photos"]) == ["checkin", "checkout"]
    assert not [f for f in visit["flags"] if f["code"].startswith("qr_")], visit["flags"]
    assert visit["checkin_distance_m"] is not None and visit["checkin_distance_m"] < 50
    assert phone.problems == []
    await close(phone)


async def test_visit_made_offline_waits_on_the_phone_and_is_sent_once(browser, live_server, api):
    from playwright.async_api import expect

    household = await fresh_household(api)
    hid = household["household_id"]
    card = await card_png(api, hid)
    phone = await worker_phone(browser, hid)
    page = phone.page
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}") if "/api/" in r.url and r.method != "GET" else None)

    await sign_in_worker(phone, live_server)
    sent.clear()  # the login
    # The service worker holds the app shell once it controls the page: the app starts offline.
    await wait_until(page, "!!navigator.serviceWorker && navigator.serviceWorker.controller !== null")

    await page.context.set_offline(True)
    await expect(sync_bar(page)).to_have_text("离线 · 没有待上传的记录")
    await day_row(page, household).get_by_role("link", name="开始服务").click()
    await expect(page.locator(".who-names")).to_have_text("、".join(household["names"]))

    # The card is read and matched against the phone's list; the server verifies it on upload.
    await page.get_by_label("拍照识别").set_input_files(
        files=[{"name": "door-card.png", "mimeType": "image/png", "buffer": card}]
    )
    await expect(page.get_by_text("门牌卡有效")).to_be_visible()
    await expect(page.get_by_text("离线核对：卡片将在恢复网络后由服务器验证。")).to_be_visible()
    await page.get_by_label("拍签到照片").set_input_files(files=[jpeg_file("checkin.jpg", 201)])
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.locator(".upload-state")).to_contain_text("本次服务还有 2 项保存在手机上")
    visit_id = page.url.rsplit("/", 1)[1]
    await check_out(page, ["家政保洁"], photo_seed=202)
    await expect(sync_bar(page)).to_have_text("离线 · 待上传 4 条")

    # Started again without signal (the phone was switched off): the app and the waiting visit are still there.
    await page.reload()
    await expect(sync_bar(page)).to_have_text("离线 · 待上传 4 条")
    await expect(page.locator(".upload-state")).to_have_text("本次服务还有 4 项保存在手机上，有网络后自动上传。")
    await page.get_by_role("link", name="返回今日服务").click()
    await expect(day_row(page, household).get_by_text("今日已服务")).to_be_visible()
    await expect(page.locator(".day-freshness")).to_contain_text("当前离线")
    await page.screenshot(path=OFFLINE_SCREENSHOT, full_page=True)
    await sync_bar(page).click()
    await expect(page.locator(".outbox-item")).to_have_count(4)
    await expect(page.locator(".outbox-item .outbox-what strong")).to_have_text(
        ["签到照片", "签到", "签退照片", "签退"]
    )

    assert sent == [], "nothing leaves the phone without signal"
    assert await Visit.count().where(Visit.id == uuid.UUID(visit_id)) == 0
    assert (await api("weibin_worker").get(f"/api/visits/{visit_id}")).status_code == 404

    await page.context.set_offline(False)
    await expect(sync_bar(page)).to_have_text("全部已上传", timeout=SYNC_TIMEOUT_MS)
    await expect(page.get_by_text("全部已上传，手机上没有待上传的记录。")).to_be_visible()

    assert await Visit.count().where(Visit.id == uuid.UUID(visit_id)) == 1
    assert await VisitPhoto.count().where(VisitPhoto.visit == uuid.UUID(visit_id)) == 2
    writes = [s.split(" ", 1)[0] + " " + s.split("/api/", 1)[1].split("/", 1)[0] for s in sent]
    assert sorted(writes) == ["POST visits", "POST visits", "PUT photos", "PUT photos"], sent
    visit = await with_ready_photos(api, visit_id, 2)
    assert visit["presence"] == "qr" and visit["review"] == "not_required" and visit["status"] == "completed"
    assert not [f for f in visit["flags"] if f["code"].startswith("qr_")], visit["flags"]
    device = dt.datetime.fromisoformat(visit["checkin_device_at"])
    received = dt.datetime.fromisoformat(visit["checkin_received_at"])
    assert device < received, "checked in without signal, received later"
    assert abs(visit["clock_skew_seconds"]) <= 5  # the phone's clock is right; the delay is not skew
    assert phone.problems == []
    await close(phone)


async def test_a_refused_upload_stays_on_the_phone_with_the_reason_until_retried(browser, live_server, api):
    from playwright.async_api import expect

    household = await fresh_household(api)
    hid = household["household_id"]
    admin = api("city_admin")
    worker_id = (await api("weibin_worker").get("/api/auth/me")).json()["account_id"]
    [assignment] = (await admin.get(f"/api/assignments?household_id={hid}")).json()["items"]
    before = await visit_ids(api, hid)
    phone = await worker_phone(browser, hid)
    page = phone.page
    await sign_in_worker(phone, live_server)

    # Checked in without signal; meanwhile the office took the household off this worker's list.
    await page.context.set_offline(True)
    await day_row(page, household).get_by_role("link", name="开始服务").click()
    await page.get_by_role("button", name="无法扫码").click()
    await page.get_by_label("其他原因（须说明）").check()
    await page.get_by_role("button", name="确定").click()
    await expect(page.locator("#manual-note-error")).to_have_text("选择“其他原因”时请填写说明。")
    await page.get_by_label("说明（选择“其他原因”时必填）").fill("门牌卡被家属收起来了")
    await page.get_by_role("button", name="确定").click()
    await page.get_by_label("拍签到照片").set_input_files(files=[jpeg_file("checkin.jpg", 401)])
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(sync_bar(page)).to_have_text("离线 · 待上传 2 条")
    yesterday = dt.date.today() - dt.timedelta(days=1)  # the server's calendar, as its access check uses
    ended = await admin.post(f"/api/assignments/{assignment['id']}/end", json={"ends_on": yesterday.isoformat()})
    assert ended.status_code == 200, ended.text
    try:
        await page.context.set_offline(False)
        await expect(sync_bar(page)).to_have_text("1 条上传失败，点此处理", timeout=SYNC_TIMEOUT_MS)
        await sync_bar(page).click()
        failed = page.locator(".outbox-failed")
        await expect(failed).to_contain_text("上传失败：未找到该户，或您无权查看。")
        await expect(page.locator(".outbox-held")).to_contain_text("等待前一项处理后上传")
        assert await visit_ids(api, hid) == before, "the refused visit is not on the server"
    finally:
        restored = await admin.post(
            "/api/assignments",
            json={"household_id": hid, "worker_id": worker_id, "starts_on": dt.date.today().isoformat()},
        )
        assert restored.status_code == 201, restored.text
    await failed.get_by_role("button", name="重试").click()
    await expect(sync_bar(page)).to_have_text("全部已上传", timeout=SYNC_TIMEOUT_MS)
    await expect(page.get_by_text("全部已上传，手机上没有待上传的记录。")).to_be_visible()
    [visit] = (await admin.get(f"/api/visits?household_id={hid}&review=awaiting_approval")).json()["items"]
    detail = (await admin.get(f"/api/visits/{visit['id']}")).json()
    assert detail["manual_reason"] == "other" and detail["manual_note"] == "门牌卡被家属收起来了"
    assert len(detail["photos"]) == 1
    assert phone.problems == []
    await close(phone)


async def manual_visit_with_photo(api, household_id: int) -> str:
    """A visit recorded without a card scan (so awaiting approval), as the phone's outbox sends it."""
    worker = api("weibin_worker")
    photo_id = str(uuid.uuid4())
    r = await worker.request(
        "PUT",
        f"/api/photos/{photo_id}",
        files={"data": ("checkin.jpg", photo_jpeg(301), "image/jpeg")},
        data={"household_id": str(household_id)},
    )
    assert r.status_code == 201, r.text
    now = dt.datetime.now(SHANGHAI).isoformat()
    body = {
        "id": str(uuid.uuid4()),
        "household_id": household_id,
        "device_time": now,
        "sent_at": now,
        "manual_reason": "person_hospitalised",
        "photo_ids": [photo_id],
    }
    r = await worker.post("/api/visits/checkin", json=body)
    assert r.status_code == 201, r.text
    return body["id"]


async def test_manager_approves_from_the_queue_and_another_worker_cannot_open_it(browser, live_server, api):
    from playwright.async_api import expect

    household = await fresh_household(api)
    visit_id = await manual_visit_with_photo(api, household["household_id"])
    await with_ready_photos(api, visit_id, 1)
    awaiting = (await api("renhe_manager").get("/api/visits?review=awaiting_approval&page_size=1")).json()["total"]
    manager = await phone_page(browser)
    page = manager.page

    await open_site(manager, live_server)
    await log_in(manager, "renhe_manager")
    queue_tile = page.locator(".tile", has=page.get_by_text("待审核", exact=True))
    await expect(queue_tile).to_contain_text(f"{awaiting} 条待审核")
    await queue_tile.click()
    await expect(page.get_by_role("heading", name="待审核")).to_be_visible()
    row = page.locator(f'a.visit-row[href^="#/visits/{visit_id}"]')
    await expect(row).to_contain_text("、".join(household["names"]))
    await expect(row).to_contain_text("待审核")
    await page.screenshot(path=QUEUE_SCREENSHOT, full_page=True)

    await row.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("、".join(household["names"]))
    manual_flag = page.locator("li.flag-warning", has_text="手工录入")
    await expect(manual_flag).to_be_visible()
    service = page.locator("section.card", has=page.get_by_role("heading", name="服务情况"))
    await expect(service.get_by_text("服务对象住院（在医院服务）")).to_be_visible()
    await expect(manual_flag.get_by_text("服务对象住院（在医院服务）")).to_be_visible()
    await expect(page.locator(".photo-thumb img")).to_have_count(1)
    assert await page.locator(".photo-thumb img").evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
    await page.locator(".photo-thumb").click()
    await expect(page.locator("dialog.viewer img")).to_be_visible()
    await page.get_by_role("button", name="关闭").click()
    await page.screenshot(path=DETAIL_SCREENSHOT, full_page=True)

    # Rejecting needs a reason; approving does not.
    await page.get_by_role("button", name="驳回").click()
    await expect(page.locator("#review-comment-error")).to_have_text("驳回时请填写原因。")
    await page.get_by_label("审核意见（驳回时必填）").fill("已电话核实，服务对象住院。")
    await page.get_by_role("button", name="通过").click()
    await expect(page.get_by_text("已审核通过，记录已锁定。")).to_be_visible()
    await expect(page.get_by_role("button", name="通过")).to_have_count(0)

    visit = (await api("renhe_manager").get(f"/api/visits/{visit_id}")).json()
    assert visit["review"] == "approved" and visit["review_comment"] == "已电话核实，服务对象住院。"
    assert manager.problems == []
    await close(manager)

    # A worker of another district's provider does not get to see it, even by its address.
    other = await phone_page(browser)
    await open_site(other, live_server)
    await log_in(other, "jintai_worker")
    await expect(other.page.locator(".day-households")).to_be_visible()
    await other.page.goto(f"{live_server}/#/visits/{visit_id}")
    await expect(other.page.get_by_role("alert")).to_have_text("未找到该服务记录，或您无权查看。")
    assert other.problems == []
    await close(other)


async def test_a_reissued_card_makes_the_old_card_scan_as_revoked(browser, live_server, api):
    from playwright.async_api import expect

    household = await fresh_household(api)
    hid = household["household_id"]
    old_card = await card_png(api, hid)
    r = await api("city_admin").post(f"/api/households/{hid}/card", json={"reason": "卡片丢失，补发"})
    assert r.status_code == 201, r.text
    new_url = zxingcpp.read_barcodes(Image.open(io.BytesIO(await card_png(api, hid))))[0].text
    phone = await worker_phone(browser, hid)
    page = phone.page

    await sign_in_worker(phone, live_server)
    await day_row(page, household).get_by_role("link", name="开始服务").click()
    scan = page.get_by_label("拍照识别")
    await scan.set_input_files(files=[{"name": "old.png", "mimeType": "image/png", "buffer": old_card}])
    await expect(page.get_by_role("alert")).to_contain_text("此卡片已作废")
    await expect(page.get_by_role("button", name="签到", exact=True)).to_have_count(0)
    assert phone.problems == []
    await close(phone)

    # The new card, scanned with WeChat or the phone's camera app: its address opens the app,
    # which asks for a login first and then goes straight to the check-in of that household.
    token = new_url.rsplit("/c/", 1)[1]
    phone = await worker_phone(browser, hid)
    page = phone.page
    await page.goto(f"{live_server}/c/{token}")
    await log_in(phone, "weibin_worker")
    await expect(page.get_by_text("门牌卡有效")).to_be_visible()
    await expect(page.locator(".who-names")).to_have_text("、".join(household["names"]))
    await expect(page.get_by_role("button", name="签到", exact=True)).to_be_visible()
    assert phone.problems == []
    await close(phone)


async def test_the_live_camera_reads_the_door_card(playwright, live_server, api, tmp_path):
    """Chromium's fake camera plays a video of the real card: the scan screen reads it live."""
    from playwright.async_api import expect

    household = await fresh_household(api)
    hid = household["household_id"]
    video = y4m_of(await card_png(api, hid), tmp_path / "door-card.y4m")
    browser = await launch(
        playwright,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    try:
        phone = await phone_page(browser, geolocation=await at_home(hid), permissions=["geolocation", "camera"])
        page = phone.page
        await sign_in_worker(phone, live_server)
        await page.get_by_role("link", name="扫码签到").click()
        await page.get_by_role("button", name="打开摄像头扫码").click()
        await expect(page.get_by_text("门牌卡有效")).to_be_visible()
        await expect(page.locator(".who-names")).to_have_text("、".join(household["names"]))
        # The camera is released once the code is read.
        assert await page.locator("video.scan-video").evaluate("v => v.srcObject === null && v.hidden")
        assert phone.problems == []
    finally:
        await browser.close()


async def test_the_app_is_installable_and_its_shell_lists_every_file(live_server):
    async with httpx.AsyncClient(base_url=live_server) as client:
        manifest = await client.get("/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        body = json.loads(manifest.content)
        assert body["name"] == "照护服务" and body["lang"] == "zh-CN" and body["display"] == "standalone"
        for icon in body["icons"]:
            image = await client.get(icon["src"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/png"
            size = Image.open(io.BytesIO(image.content)).size
            assert f"{size[0]}x{size[1]}" == icon["sizes"]
        worker = await client.get("/sw.js")
        # Either JavaScript type (Python's own table, or the system's mime.types) registers a worker.
        assert worker.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
        assert "script-src 'self'" in worker.headers["content-security-policy"]
        assert (await client.get("/vendor/jsQR.js")).status_code == 200

    # Every file the app loads is in the service worker's shell, or the app cannot start offline.
    shell = set(re.findall(r'^\s+"(/[^"]*)",$', (STATIC_DIR / "sw.js").read_text(), re.MULTILINE))
    app_files = [*STATIC_DIR.rglob("*.js"), *STATIC_DIR.glob("icons/*.png")]
    needed = {"/app.css", "/favicon.svg", "/manifest.webmanifest"} | {
        "/" + path.relative_to(STATIC_DIR).as_posix() for path in app_files if path.name != "sw.js"
    }
    assert needed - shell == set(), "add these to SHELL_FILES in static/sw.js"
    assert shell - needed == {"/"}, "SHELL_FILES names files that do not exist"


async def test_bureau_prints_a_village_of_cards_reissues_one_and_reads_visits(browser, live_server, api):
    from playwright.async_api import expect

    household = await fresh_household(api)
    hid = household["household_id"]
    visit_id = await manual_visit_with_photo(api, hid)
    row = (
        await Household.select(Household.village, Household.village._.parent, Household.village._.name)
        .where(Household.id == hid)
        .first()
    )
    auditor = await phone_page(browser)
    page = auditor.page
    await open_site(auditor, live_server)
    await log_in(auditor, "weibin_auditor")

    # Door cards for a whole village: the job's progress, then its file.
    await page.locator(".tile", has=page.get_by_text("门牌卡打印", exact=True)).click()
    await page.get_by_label("乡镇（街道）").select_option(str(row["village.parent"]))
    await page.get_by_label("村（社区）").select_option(str(row["village"]))
    await expect(page.locator(".region-chosen")).to_contain_text(row["village.name"])
    await page.get_by_role("button", name="生成打印页").click()
    download = page.get_by_role("link", name="下载门牌卡打印页")
    await expect(download).to_be_visible(timeout=30_000)
    await expect(page.locator("progress.job-bar")).to_have_attribute("value", "100")
    await page.screenshot(path=CARDS_SCREENSHOT, full_page=True)
    href = await download.get_attribute("href")
    sheet = await api("weibin_auditor").get(href)
    assert sheet.status_code == 200 and "门牌卡" in sheet.text

    # A lost card replaced from the household's page: the old one stops working at once.
    old = await card_png(api, hid)
    await page.goto(f"{live_server}/#/households/{hid}")
    await page.get_by_label("补发原因").fill("卡片被雨水泡坏")
    await page.get_by_role("button", name="补发门牌卡").click()
    await expect(page.get_by_text(re.compile(r"已补发第 \d+ 版门牌卡，旧卡已作废"))).to_be_visible()
    await expect(page.locator(".card-image img")).to_be_visible()
    assert await page.locator(".card-image img").evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
    await page.screenshot(path=REISSUE_SCREENSHOT, full_page=True)
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(old)))
    check = (await api("weibin_worker").get("/api/cards/check", params={"token": decoded.text})).json()
    assert check["code"] == "card.revoked"

    # The county's visits, read-only: flags and photos, no approval buttons.
    await page.get_by_role("link", name="查看本户的服务记录").click()
    await page.get_by_label("只看有疑点的记录").check()
    await page.get_by_role("button", name="筛选").click()
    await expect(page).to_have_url(re.compile(r"flagged=1"))
    await page.locator(f'a.visit-row[href^="#/visits/{visit_id}"]').click()
    await expect(page.locator("li.flag-warning", has_text="手工录入")).to_be_visible()
    await expect(page.locator(".photo-thumb img")).to_have_count(1)
    await expect(page.get_by_role("button", name="通过")).to_have_count(0)
    assert auditor.problems == []
    await close(auditor)


async def test_manager_adds_a_worker_and_hands_a_household_over(browser, live_server, api):
    from playwright.async_api import expect

    household = await fresh_household(api)
    hid = household["household_id"]
    username = f"worker_{uuid.uuid4().hex[:8]}"
    tomorrow = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=1)).date()
    worker = (await api("weibin_worker").get("/api/auth/me")).json()
    manager = await phone_page(browser)
    page = manager.page
    await open_site(manager, live_server)
    await log_in(manager, "renhe_manager")

    await page.locator(".tile", has=page.get_by_text("人员", exact=True)).click()
    await expect(page.locator(".staff-row", has_text=worker["display_name"])).to_contain_text("负责")
    await page.get_by_label("姓名").fill("测试社工")
    await page.get_by_label("用户名（小写字母、数字）").fill(username)
    await page.get_by_label("初始密码（至少 8 位）").fill("short")
    await page.get_by_role("button", name="添加社工").click()
    await expect(page.locator("#staff-password-error")).not_to_be_empty()
    await page.get_by_label("初始密码（至少 8 位）").fill("a-long-enough-password")
    await page.get_by_role("button", name="添加社工").click()
    await expect(page.get_by_text(f"已添加社工“测试社工”，用户名 {username}")).to_be_visible()
    await expect(page.locator(".staff-row", has_text=username)).to_contain_text("负责 0 户")
    await page.screenshot(path=STAFF_SCREENSHOT, full_page=True)

    # From tomorrow the new worker cares for this household; today stays with the current one.
    await page.goto(f"{live_server}/#/households/{hid}")
    await page.get_by_label("新的负责社工").select_option(label="测试社工（负责 0 户）")
    await page.get_by_label("开始负责日期").fill(tomorrow.isoformat())
    await page.get_by_role("button", name="改派").click()
    await expect(page.get_by_text(re.compile(r"已改派给测试社工"))).to_be_visible()
    assignments = (await api("renhe_manager").get(f"/api/assignments?household_id={hid}&current_only=false")).json()
    newest = max(assignments["items"], key=lambda a: a["starts_on"])
    assert newest["worker_name"] == "测试社工" and newest["starts_on"] == tomorrow.isoformat()
    assert manager.problems == []
    await close(manager)
