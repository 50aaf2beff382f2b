"""A statement for people: the printable Chinese A4 page and the CSV export.

The page is served under the app's Content-Security-Policy, so it has no inline style or script:
its look is /print.css. Chinese text is drawn by the printing computer's fonts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from html import escape

import msgspec

from carepact.catalogue import CATALOGUE, ServiceCode
from carepact.dates import SHANGHAI
from contracts.money import yuan, yuan_in_words, yuan_plain
from contracts.settlement.schemas import StatementDetail


class Letterhead(msgspec.Struct, frozen=True, kw_only=True):
    """What the statement does not carry itself: the parties and place of its contract."""

    buyer_name: str
    service_area_name: str


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M") if moment else ""


def _basis_words(s: StatementDetail) -> str:
    b = s.basis
    parts = [f"覆盖对象 {b.covered} 个，本月受服务 {b.served} 个"]
    if b.verified_visits or b.excluded_visits:
        parts.append(
            f"核验通过的上门服务 {b.verified_visits} 次，未计费 {b.excluded_visits} 次（驳回、未审核、扫码失败或严重疑点）"
        )
    if b.bed_days:
        parts.append(f"在院床日 {b.bed_days:,} 个")
    if b.unpriced_services:
        unpriced = "、".join(f"{CATALOGUE[ServiceCode(c)].label} {n} 次" for c, n in b.unpriced_services.items())
        parts.append(f"合同未采购、不计费的服务：{unpriced}")
    return "；".join(parts) + "。"


def statement_html(s: StatementDetail, letterhead: Letterhead) -> str:
    title = f"{s.month_label}购买服务结算单"
    if s.kind == "adjustment":
        title = f"{s.month_label}购买服务调整结算单"
    info = [
        ("结算单号", s.code),
        ("状态", s.status_label),
        ("合同编号", s.contract_code),
        ("合同名称", s.contract_title),
        ("采购方", letterhead.buyer_name),
        ("服务机构", s.supplier_name),
        ("服务区域", letterhead.service_area_name),
        ("结算月份", s.month_label),
    ]
    if s.kind == "adjustment":
        info.append(("调整原因", s.rationale))
    rows = (
        "".join(
            "<tr>"
            f"<td>{n}</td><td>{escape(line.description)}</td><td>{escape(line.unit)}</td>"
            f'<td class="num">{yuan(line.unit_value_fen)}</td><td class="num">{line.quantity:,}</td>'
            f'<td class="num">{yuan(line.amount_fen)}</td>'
            "</tr>"
            for n, line in enumerate(s.lines, 1)
        )
        or '<tr><td colspan="6" class="empty">本月无计费服务</td></tr>'
    )
    deductions = (
        "".join(
            f"<tr><td>{escape(d.reason)}</td><td>{escape(d.reference)}</td>"
            f'<td class="num">{yuan(d.amount_fen)}</td><td class="num">{yuan(d.applied_fen)}</td></tr>'
            for d in s.deductions
        )
        or '<tr><td colspan="4" class="empty">本月无扣减</td></tr>'
    )
    confirmed = f"{escape(s.confirmed_by_name)}　{_local(s.confirmed_at)}" if s.confirmed_at else "（尚未确认）"
    paid = f"{s.paid_on}　凭证号 {escape(s.payment_reference)}" if s.paid_on else "（尚未支付）"
    draft_mark = '<p class="draft-mark">草稿 · 未经确认，不作为支付依据</p>' if s.status == "draft" else ""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(s.code)} {escape(title)}</title>"
        '<link rel="stylesheet" href="/print.css"></head><body><main class="statement">'
        f"<h1>{escape(letterhead.buyer_name)}<br>{escape(title)}</h1>{draft_mark}"
        '<table class="info">' + "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in info) + "</table>"
        "<h2>服务明细</h2>"
        '<table class="lines"><thead><tr><th>序号</th><th>服务项目</th><th>单位</th><th class="num">单价</th>'
        f'<th class="num">数量</th><th class="num">金额</th></tr></thead><tbody>{rows}</tbody>'
        f'<tfoot><tr><th colspan="5">服务金额合计</th><td class="num">{yuan(s.gross_fen)}</td></tr></tfoot></table>'
        "<h2>扣减</h2>"
        '<table class="deductions"><thead><tr><th>事由</th><th>依据</th><th class="num">核定金额</th><th class="num">本单扣减</th></tr></thead>'
        f'<tbody>{deductions}</tbody><tfoot><tr><th colspan="3">扣减合计</th><td class="num">{yuan(s.deductions_fen)}</td></tr></tfoot></table>'
        '<table class="total"><tr><th>应付金额</th>'
        f'<td class="num">{yuan(s.total_fen)}</td></tr>'
        f"<tr><th>人民币（大写）</th><td>{yuan_in_words(s.total_fen)}</td></tr></table>"
        f'<p class="basis">核算依据：{escape(_basis_words(s))}</p>'
        '<table class="signatures"><tr><th>服务机构（盖章）</th><th>县区民政局审核（签字）</th><th>市民政局（盖章）</th></tr>'
        '<tr><td class="blank"></td><td class="blank"></td><td class="blank"></td></tr></table>'
        '<table class="info signoff"><tr><th>确认</th>'
        f"<td>{confirmed}</td></tr><tr><th>支付</th><td>{paid}</td></tr>"
        + (f"<tr><th>备注</th><td>{escape(s.note)}</td></tr>" if s.note else "")
        + "</table>"
        f'<p class="footer">核算时间 {_local(s.computed_at)}（第 {s.revision} 版）'
        + (f"　数字摘要 {s.digest[:16]}" if s.digest else "")
        + "</p></main></body></html>"
    )


CSV_HEADERS = ["序号", "服务项目", "服务代码", "单位", "单价（元）", "数量", "金额（元）"]


def statement_csv(s: StatementDetail, letterhead: Letterhead) -> bytes:
    """UTF-8 with a BOM (so spreadsheet programs read the Chinese), amounts as plain yuan
    numbers with two decimals (so they sum), the totals in the last rows."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["结算单号", s.code])
    w.writerow(["合同编号", s.contract_code])
    w.writerow(["合同名称", s.contract_title])
    w.writerow(["采购方", letterhead.buyer_name])
    w.writerow(["服务机构", s.supplier_name])
    w.writerow(["结算月份", s.month])
    w.writerow(["状态", s.status_label])
    w.writerow([])
    w.writerow(CSV_HEADERS)
    for n, line in enumerate(s.lines, 1):
        w.writerow(
            [
                n,
                line.description,
                line.service.value,
                line.unit,
                yuan_plain(line.unit_value_fen),
                line.quantity,
                yuan_plain(line.amount_fen),
            ]
        )
    w.writerow([])
    w.writerow(["扣减事由", "依据", "核定金额（元）", "本单扣减（元）"])
    for d in s.deductions:
        w.writerow([d.reason, d.reference, yuan_plain(d.amount_fen), yuan_plain(d.applied_fen)])
    w.writerow([])
    w.writerow(["服务金额合计（元）", yuan_plain(s.gross_fen)])
    w.writerow(["扣减合计（元）", yuan_plain(s.deductions_fen)])
    w.writerow(["应付金额（元）", yuan_plain(s.total_fen)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
