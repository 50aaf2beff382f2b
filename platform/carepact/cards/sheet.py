"""QR images and the printable A4 sheet of door cards (HTML the browser prints: Chinese text is
drawn by the printing computer's fonts, not by the server)."""

from __future__ import annotations

import base64
import html
import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from carepact.settings import get_settings

CARDS_PER_PAGE = 8


def card_url(token: str) -> str:
    return f"{get_settings().public_url}/c/{token}"


def qr_png(data: str, box_size: int = 8) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=2)
    code.add_data(data)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


_STYLE = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; margin: 0; }
.page { display: grid; grid-template-columns: 1fr 1fr; grid-template-rows: repeat(4, 68mm); gap: 4mm; page-break-after: always; }
.page:last-child { page-break-after: auto; }
.card { border: 1px dashed #888; padding: 4mm; display: flex; gap: 3mm; align-items: center; }
.card img { width: 44mm; height: 44mm; image-rendering: pixelated; }
.card h2 { font-size: 4.2mm; margin: 0 0 2mm; }
.card p { font-size: 3.4mm; margin: 0.8mm 0; }
.card .hint { color: #444; font-size: 3mm; }
"""


def sheet_html(title: str, cards: list[dict[str, str]]) -> str:
    """``cards``: dicts with names, village, code, token. One self-contained HTML file."""
    pages = []
    for start in range(0, len(cards), CARDS_PER_PAGE):
        cells = []
        for card in cards[start : start + CARDS_PER_PAGE]:
            png = base64.b64encode(qr_png(card_url(card["token"]))).decode()
            cells.append(
                '<div class="card">'
                f'<img alt="门牌卡二维码" src="data:image/png;base64,{png}" data-token="{html.escape(card["token"])}">'
                "<div>"
                "<h2>特困人员照料服务门牌卡</h2>"
                f"<p>服务对象：{html.escape(card['names'])}</p>"
                f"<p>{html.escape(card['village'])}</p>"
                f"<p>户编号：{html.escape(card['code'])}</p>"
                '<p class="hint">社工上门服务时扫码签到。请勿遮挡、涂改。</p>'
                "</div></div>"
            )
        pages.append('<section class="page">' + "".join(cells) + "</section>")
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>" + "".join(pages) + "</body></html>"
    )
