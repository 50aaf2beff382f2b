"""The evidence bundle's ZIP: visits and flags as CSV, the photos' display copies, the findings
with their decisions, the agreements' printable text, and a one-page summary.

CSV files are UTF-8 with a byte-order mark and Chinese headers (Excel and WPS then open Chinese
correctly), CRLF line ends, times in Asia/Shanghai. People are named as lists name them for those
outside their case (张*明); no ID numbers, addresses, coordinates or free-text notes about them.
Photos are the display copies the photo pipeline wrote without metadata, never the originals
(which may hold EXIF GPS), named by their visit. The ZIP is written to a temporary file and moved
into place, so a rerun of the job replaces it whole and a reader never sees half of one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Awaitable, Callable
from html import escape
from typing import IO, Any

import msgspec

from carepact.accounts.access import ROLE_LABELS, Principal
from carepact.dates import SHANGHAI
from carepact.media import storage
from carepact.media.tables import PhotoStatus
from carepact.privacy import mask_name
from carepact.settings import STATIC_DIR
from contracts.agreement.printing import agreement_html
from contracts.agreement.services import get_agreement
from contracts.delivery import local_day, verified_visit
from contracts.evidence.services import (
    BundleScope,
    household_names,
    in_period,
    visit_photos,
    visit_service_labels,
)
from contracts.findings.schemas import REASON_LABELS, ExplanationReason
from contracts.findings.services import SUMMARY_COLUMNS, summaries
from contracts.money import yuan, yuan_plain
from contracts.scope import visible_agreements
from contracts.tables import Agreement, Finding, FindingState
from providers.tables import FlagSeverity, ManualReason, Presence, Review, Visit, VisitFlag, VisitStatus
from providers.visits.schemas import MANUAL_REASON_LABELS, PRESENCE_LABELS, REVIEW_LABELS, STATUS_LABELS

CHUNK = 500
SEVERITY_LABELS = {FlagSeverity.info: "提示", FlagSeverity.warning: "一般", FlagSeverity.serious: "严重"}
SOURCE_LABELS = {"checkin": "签到", "checkout": "签退", "photo": "照片"}
VISIT_HEADERS = [
    "服务记录编号",
    "户编号",
    "村（社区）",
    "服务对象",
    "服务机构",
    "社工/护理员",
    "签到时间（北京时间）",
    "签退时间（北京时间）",
    "服务时长（分钟）",
    "状态",
    "在场证明",
    "无法扫码原因",
    "审核",
    "服务项目",
    "照片数",
    "照片文件",
    "一般疑点数",
    "严重疑点数",
    "计为有效服务",
    "更正的原记录",
]
FLAG_HEADERS = [
    "服务记录编号",
    "户编号",
    "签到时间（北京时间）",
    "疑点代码",
    "严重程度",
    "说明",
    "来源",
    "发现时间（北京时间）",
]
FINDING_HEADERS = [
    "编号",
    "户编号",
    "村（社区）",
    "服务对象",
    "服务机构",
    "协议编号",
    "条款",
    "条款类型",
    "所属月份",
    "开始日期",
    "结束日期",
    "协议要求",
    "实际情况",
    "违约次数",
    "情况说明",
    "处理状态",
    "扣减金额（元，维持时）",
    "机构说明原因",
    "机构说明",
    "说明人",
    "说明时间（北京时间）",
    "审核意见",
    "审核人",
    "审核时间（北京时间）",
]
Progress = Callable[[int, int, str], Awaitable[None]]


def local_time(moment: dt.datetime | None) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}" if moment else ""


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]", "_", text)


class Counts(msgspec.Struct, kw_only=True):
    visits: int = 0
    completed: int = 0
    verified: int = 0
    flagged: int = 0  # visits with a warning or serious flag
    serious: int = 0  # visits with a serious flag
    photos: int = 0  # display copies in the bundle
    photos_missing: int = 0  # linked photos pending, refused, purged, or without a display copy
    findings: int = 0
    findings_by_state: dict[str, int] = {}
    findings_by_clause: dict[str, int] = {}
    upheld_fen: int = 0
    agreements: int = 0


class _CsvFile:
    """A CSV written to a temporary file (the ZIP takes one entry at a time, photos come first)."""

    def __init__(self, headers: list[str]) -> None:
        self.raw: IO[bytes] = tempfile.TemporaryFile()
        # utf-8-sig writes the byte-order mark first: spreadsheet programs then read UTF-8.
        self.text = io.TextIOWrapper(self.raw, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.text, lineterminator="\r\n")
        self.writer.writerow(headers)

    def add_to(self, archive: zipfile.ZipFile, name: str) -> None:
        self.text.flush()
        self.raw.seek(0)
        with archive.open(name, "w") as out:
            shutil.copyfileobj(self.raw, out)
        self.text.close()


async def _visit_ids(scope: BundleScope, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    rows = (
        await Visit.select(Visit.id, Visit.household, Visit.checkin_at)
        .where(scope.visits & in_period(first, last))
        .order_by(Visit.checkin_at)
        .order_by(Visit.id)
    )
    return [r for r in rows if scope.covers(r["household"], local_day(r["checkin_at"]))]


async def _verified(scope: BundleScope, first: dt.date, last: dt.date) -> set[str]:
    rows = await Visit.select(Visit.id).where(scope.visits & in_period(first, last) & verified_visit())
    return {str(r["id"]) for r in rows}


async def _write_visits(
    archive: zipfile.ZipFile, ids: list[Any], verified: set[str], counts: Counts, progress: Progress, total: int
) -> tuple[_CsvFile, _CsvFile, set[int]]:
    visits_csv, flags_csv = _CsvFile(VISIT_HEADERS), _CsvFile(FLAG_HEADERS)
    households: set[int] = set()
    names: dict[int, list[str]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = (
            await Visit.select(
                *Visit.all_columns(),
                Visit.household._.code,
                Visit.household._.village._.name,
                Visit.organisation._.name,
                Visit.worker._.display_name,
            )
            .where(Visit.id.is_in(chunk))
            .order_by(Visit.checkin_at)
            .order_by(Visit.id)
        )
        services = await visit_service_labels(chunk)
        photos = await visit_photos(chunk)
        flags = await VisitFlag.select().where(VisitFlag.visit.is_in(chunk)).order_by(VisitFlag.id)
        by_visit: dict[str, list[dict[str, Any]]] = {}
        for f in flags:
            by_visit.setdefault(str(f["visit"]), []).append(f)
        new = {r["household"] for r in rows} - set(names)
        names |= await household_names(new)
        for v in rows:
            key = str(v["id"])
            households.add(v["household"])
            stamp = v["checkin_at"].astimezone(SHANGHAI)
            files: list[str] = []
            for p in photos[key]:
                if p["photo.status"] != PhotoStatus.ready or not storage.exists(p["photo.display_key"]):
                    counts.photos_missing += 1
                    continue
                name = f"photos/{stamp:%Y%m%d-%H%M}_{_safe(v['household.code'])}_{key[:8]}_{len(files) + 1}.jpg"
                info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
                archive.writestr(info, storage.get(p["photo.display_key"]), compress_type=zipfile.ZIP_STORED)
                files.append(name)
            counts.photos += len(files)
            visit_flags = by_visit.get(key, [])
            severities = Counter(f["severity"] for f in visit_flags)
            counts.visits += 1
            counts.completed += v["status"] == VisitStatus.completed
            counts.verified += key in verified
            counts.flagged += bool(severities[FlagSeverity.warning] or severities[FlagSeverity.serious])
            counts.serious += bool(severities[FlagSeverity.serious])
            reason = v["manual_reason"]
            visits_csv.writer.writerow(
                [
                    key,
                    v["household.code"],
                    v["household.village.name"],
                    "、".join(mask_name(n) for n in names.get(v["household"], [])),
                    v["organisation.name"],
                    v["worker.display_name"],
                    local_time(v["checkin_at"]),
                    local_time(v["checkout_at"]),
                    "" if v["duration_minutes"] is None else v["duration_minutes"],
                    STATUS_LABELS[VisitStatus(v["status"])],
                    PRESENCE_LABELS[Presence(v["presence"])],
                    MANUAL_REASON_LABELS[ManualReason(reason)] if reason else "",
                    REVIEW_LABELS[Review(v["review"])],
                    "、".join(services[key]),
                    len(files),
                    " ".join(files),
                    severities[FlagSeverity.warning],
                    severities[FlagSeverity.serious],
                    "是" if key in verified else "否",
                    str(v["corrects"]) if v["corrects"] else "",
                ]
            )
            for f in visit_flags:
                flags_csv.writer.writerow(
                    [
                        key,
                        v["household.code"],
                        local_time(v["checkin_at"]),
                        f["code"],
                        SEVERITY_LABELS[FlagSeverity(f["severity"])],
                        f["message"],
                        SOURCE_LABELS.get(f["source"], f["source"]),
                        local_time(f["created_at"]),
                    ]
                )
        await progress(
            min(start + CHUNK, len(ids)), total, f"已整理服务记录 {min(start + CHUNK, len(ids))} / {len(ids)} 条"
        )
    return visits_csv, flags_csv, households


async def _write_findings(
    scope: BundleScope, first: dt.date, last: dt.date, counts: Counts
) -> tuple[_CsvFile, set[int]]:
    findings_csv = _CsvFile(FINDING_HEADERS)
    rows = (
        await Finding.select(
            *SUMMARY_COLUMNS,
            Finding.explanation_reason,
            Finding.explanation,
            Finding.explained_by_name,
            Finding.explained_at,
            Finding.decision_comment,
            Finding.decided_by_name,
            Finding.decided_at,
        )
        .where(scope.findings & (Finding.period_start <= last) & (Finding.period_end >= first))
        .order_by(Finding.period_start)
        .order_by(Finding.id)
    )
    by_state: Counter[str] = Counter()
    by_clause: Counter[str] = Counter()
    for row, f in zip(rows, await summaries(rows), strict=True):
        reason = row["explanation_reason"]
        by_state[f.state_label] += 1
        by_clause[f.clause_title] += 1
        if f.state == FindingState.upheld:
            counts.upheld_fen += f.amount_fen
        findings_csv.writer.writerow(
            [
                f.id,
                f.household_code,
                f.village_name,
                f.person_name_masked,
                f.organisation_name,
                f.agreement_code,
                f.clause_title,
                f.clause_kind_label,
                f.month,
                f.period_start.isoformat(),
                f.period_end.isoformat(),
                f.expected_text,
                f.actual_text,
                f.units,
                f.summary,
                f.state_label,
                yuan_plain(f.amount_fen),
                REASON_LABELS[ExplanationReason(reason)] if reason else "",
                row["explanation"],
                row["explained_by_name"],
                local_time(row["explained_at"]),
                row["decision_comment"],
                row["decided_by_name"],
                local_time(row["decided_at"]),
            ]
        )
    counts.findings = len(rows)
    counts.findings_by_state = dict(by_state)
    counts.findings_by_clause = dict(by_clause)
    return findings_csv, {r["household"] for r in rows}


async def _write_agreements(
    archive: zipfile.ZipFile, principal: Principal, households: set[int], first: dt.date, last: dt.date
) -> int:
    """Each agreement in force during the period for the bundle's households, as printed; the
    cared-for person named as lists name them, the address left to the household's village."""
    rows = (
        await Agreement.select(Agreement.id, Agreement.code)
        .where(
            Agreement.household.is_in(list(households) or [-1])
            & visible_agreements(principal)
            & (Agreement.starts_on <= last)
            & (Agreement.ends_on.is_null() | (Agreement.ends_on >= first))
        )
        .order_by(Agreement.code)
    )
    for r in rows:
        detail = await get_agreement(principal, r["id"])
        masked = msgspec.structs.replace(
            detail, person_name=mask_name(detail.person_name), address=f"{detail.village_name}（详细地址略）"
        )
        page = agreement_html(masked).replace('href="/print.css"', 'href="../print.css"')
        archive.writestr(f"agreements/{_safe(r['code'])}.html", page.encode())
    return len(rows)


def summary_html(scope: BundleScope, principal: Principal, first: dt.date, last: dt.date, counts: Counts) -> str:
    """The one-page summary, in Chinese, styled by the bundle's print.css."""
    rate = f"{counts.verified * 100 / counts.completed:.1f}%" if counts.completed else "—"
    missing = (
        f"（另有 {counts.photos_missing} 张未收入：尚未处理完成、被拒收或已过保存期限删除）"
        if counts.photos_missing
        else ""
    )
    info = [
        ("对象", scope.title),
        ("期间", f"{first:%Y年%m月%d日} 至 {last:%Y年%m月%d日}"),
        ("生成时间", f"{dt.datetime.now(SHANGHAI):%Y年%m月%d日 %H:%M}（北京时间）"),
        ("生成人", f"{principal.display_name}（{ROLE_LABELS[principal.role]}）"),
    ]
    figures = [
        ("服务记录", f"{counts.visits} 条（已完成 {counts.completed} 条）"),
        ("计为有效服务", f"{counts.verified} 条"),
        ("有效率（有效 / 已完成）", rate),
        ("有疑点的记录", f"{counts.flagged} 条（其中严重 {counts.serious} 条）"),
        ("照片", f"{counts.photos} 张{missing}"),
        ("违约发现", f"{counts.findings} 条"),
        ("已维持的扣减", yuan(counts.upheld_fen)),
        ("服务协议", f"{counts.agreements} 份"),
    ]

    def table(pairs: list[tuple[str, str]], css: str = "info") -> str:
        return (
            f'<table class="{css}">'
            + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)
            + "</table>"
        )

    def counted(title: str, column: str, values: dict[str, int]) -> str:
        if not values:
            return ""
        rows = "".join(
            f'<tr><td>{escape(k)}</td><td class="num">{n}</td></tr>'
            for k, n in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        head = f'<thead><tr><th>{escape(column)}</th><th class="num">条数</th></tr></thead>'
        return f"<h2>{escape(title)}</h2><table>{head}<tbody>{rows}</tbody></table>"

    files = [
        ("visits.csv", "服务记录（每条一行，含照片文件名）"),
        ("flags.csv", "疑点（每个疑点一行）"),
        ("findings.csv", "违约发现及机构说明、审核结论"),
        ("photos/", "照片展示副本（已去除拍摄位置等元数据），文件名：签到时间_户编号_记录编号前8位_序号"),
        ("agreements/", "服务协议文本（可打印）"),
    ]
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>证据包摘要 {escape(scope.title)}</title>"
        '<link rel="stylesheet" href="print.css"></head><body><main class="statement">'
        "<h1>证据包摘要</h1>"
        + table(info)
        + "<h2>主要数字</h2>"
        + table(figures)
        + counted("违约发现按条款", "条款", counts.findings_by_clause)
        + counted("违约发现按处理状态", "处理状态", counts.findings_by_state)
        + "<h2>文件说明</h2>"
        + table(files)
        + '<p class="footer">CSV 文件为 UTF-8 编码（带 BOM），可直接用 Excel 或 WPS 打开；时间均为北京时间；'
        "服务对象姓名已部分隐去，不含身份证号、住址和位置信息。“计为有效服务”与结算口径一致。</p>"
        "</main></body></html>"
    )


async def write_bundle(
    key: str, principal: Principal, scope: BundleScope, first: dt.date, last: dt.date, progress: Progress
) -> Counts:
    """Build the bundle into storage under ``key``; returns what it holds."""
    counts = Counts()
    visits = await _visit_ids(scope, first, last)
    ids = [r["id"] for r in visits]
    total = len(ids) + 3
    await progress(0, total, "正在读取服务记录")
    verified = await _verified(scope, first, last)
    target = storage.path_of(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            visits_csv, flags_csv, households = await _write_visits(archive, ids, verified, counts, progress, total)
            await progress(len(ids) + 1, total, "正在整理违约发现")
            findings_csv, finding_households = await _write_findings(scope, first, last, counts)
            await progress(len(ids) + 2, total, "正在生成服务协议文本")
            if scope.kind == "household":
                households.add(scope.id)
            counts.agreements = await _write_agreements(
                archive, principal, households | finding_households, first, last
            )
            visits_csv.add_to(archive, "visits.csv")
            flags_csv.add_to(archive, "flags.csv")
            findings_csv.add_to(archive, "findings.csv")
            archive.write(STATIC_DIR / "print.css", "print.css")
            archive.writestr("summary.html", summary_html(scope, principal, first, last, counts).encode())
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return counts
