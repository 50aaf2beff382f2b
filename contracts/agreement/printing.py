"""A household's signed agreement for people: the printable Chinese A4 page.

Served under the app's Content-Security-Policy, so there is no inline style or script: the look is
/print.css (the same sheet as settlement statements). The clause text is the template version's,
with the household's values in place.
"""

from __future__ import annotations

from html import escape

from contracts.agreement.schemas import AgreementDetail
from contracts.money import yuan, yuan_in_words

_NUMERALS = "一二三四五六七八九十"


def _article(n: int) -> str:
    """1 → 第一条, 12 → 第十二条, 20 → 第二十条."""
    if n <= 10:
        words = _NUMERALS[n - 1]
    elif n < 20:
        words = "十" + _NUMERALS[n - 11]
    else:
        tens, ones = divmod(n, 10)
        words = _NUMERALS[tens - 1] + "十" + (_NUMERALS[ones - 1] if ones else "")
    return f"第{words}条"


def agreement_html(a: AgreementDetail) -> str:
    period = f"{a.starts_on:%Y年%m月%d日}起" + (
        f"至{a.ends_on:%Y年%m月%d日}止" if a.ends_on else "，长期有效（重新签订时终止）"
    )
    parties = {p.role: p for p in a.parties}
    info = [
        ("协议编号", a.code),
        (parties["township"].title, a.township_office_name),
        (
            parties["caregiver"].title,
            f"{a.caregiver_name}（{a.caregiver_kind_label}）"
            + (f"　电话 {a.caregiver_phone}" if a.caregiver_phone else ""),
        ),
        (parties["cared_for"].title, f"{a.person_name}　身份证号 {a.person_id_masked}"),
        ("户编号 / 住址", f"{a.household_code}　{a.address}"),
        ("自理能力", a.care_level_label),
        ("照料护理费", f"每月 {yuan(a.monthly_fee_fen)}（人民币{yuan_in_words(a.monthly_fee_fen)}）"),
        ("协议期限", period),
    ]
    articles: list[tuple[str, str]] = [(c.title, c.text) for c in a.clauses]
    articles += [("照料护理费", a.fee_text), ("违约扣减", a.deduction_text)]
    duties = "".join(
        f"<h2>{escape(p.title)}的责任</h2><ol>" + "".join(f"<li>{escape(d)}</li>" for d in p.duties) + "</ol>"
        for p in a.parties
    )
    body = "".join(
        f"<p><strong>{_article(n)}　{escape(title)}</strong>　{escape(text)}</p>"
        for n, (title, text) in enumerate(articles, 1)
    )
    closing = "".join(f"<p>{escape(t)}</p>" for t in a.closing)
    mark = "" if a.status == "in_force" else f'<p class="draft-mark">本协议{escape(a.status_label)}，仅供查阅</p>'
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(a.code)} {escape(a.template_title)}</title>"
        '<link rel="stylesheet" href="/print.css"></head><body><main class="statement agreement">'
        f"<h1>{escape(a.template_title)}</h1>{mark}"
        '<table class="info">'
        + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in info)
        + "</table>"
        f"<p>{escape(a.preamble)}</p>"
        f"<h2>服务内容与标准</h2>{body}{duties}<h2>其他约定</h2>{closing}"
        '<table class="signatures"><tr>'
        f"<th>{escape(parties['township'].title)}（盖章）</th>"
        f"<th>{escape(parties['caregiver'].title)}（签字 / 盖章）</th>"
        f"<th>{escape(parties['cared_for'].title)}（签字 / 按手印）</th></tr>"
        '<tr><td class="blank"></td><td class="blank"></td><td class="blank"></td></tr></table>'
        f'<p class="footer">签订日期 {a.signed_on:%Y年%m月%d日}　经办人 {escape(a.signed_by_name)}　'
        f"依据宝鸡市民政局发布的标准文本第 {a.template_version} 版</p>"
        "</main></body></html>"
    )
