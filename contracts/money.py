"""Money at the edges: integer fen in, text for people out (prints, CSV). Never a float."""

from __future__ import annotations

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ["", "拾", "佰", "仟"]
_SECTIONS = ["", "万", "亿", "万亿"]


def yuan(fen: int) -> str:
    """12345678 → "¥123,456.78"; negative amounts (adjustments) get a leading minus."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def yuan_plain(fen: int) -> str:
    """12345678 → "123456.78": for spreadsheets, which sum it as a number."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _group_words(group: int) -> str:
    """1..9999 in capital numerals, zeros inside the group collapsed to one 零."""
    words = ""
    pending_zero = False
    for place in (3, 2, 1, 0):
        digit = group // 10**place % 10
        if digit == 0:
            pending_zero = pending_zero or bool(words)
            continue
        if pending_zero:
            words += "零"
            pending_zero = False
        words += _DIGITS[digit] + _PLACES[place]
    return words


def _integer_words(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    words = ""
    skipped = False
    for section in reversed(range(len(groups))):
        group = groups[section]
        if group == 0:
            skipped = True
            continue
        if words and (skipped or group < 1000):
            words += "零"
        words += _group_words(group) + _SECTIONS[section]
        skipped = False
    return words


def yuan_in_words(fen: int) -> str:
    """The amount as written on Chinese financial documents (人民币大写): 1234.50 → 壹仟贰佰叁拾肆元伍角整.

    Per 《会计基础工作规范》: "整" after 元 or 角, none after 分.
    """
    if fen < 0:
        return "负" + yuan_in_words(-fen)
    whole, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    if whole == 0 and cents == 0:
        return "零元整"
    words = _integer_words(whole) + "元" if whole else ""
    if jiao:
        words += _DIGITS[jiao] + "角"
    if fen_digit:
        if whole and not jiao:
            words += "零"
        words += _DIGITS[fen_digit] + "分"
    else:
        words += "整"
    return words
