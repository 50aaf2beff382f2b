"""Household CSV import: UTF-8, Chinese column headers, all rows or none."""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec

from carepact.errors import translate
from carepact.registry.schemas import HouseholdCreate, RowError

MAX_ROWS = 20_000

# Column header → (field path in HouseholdCreate, value words users write → wire values)
COLUMNS: dict[str, tuple[str, dict[str, str] | None]] = {
    "村（社区）代码": ("village_code", None),
    "地址": ("address", None),
    "纬度": ("latitude", None),
    "经度": ("longitude", None),
    "姓名": ("person.name", None),
    "性别": ("person.gender", {"男": "male", "女": "female"}),
    "出生年份": ("person.birth_year", None),
    "身份证号": ("person.id_number", None),
    "自理能力": ("person.care_level", {"全自理": "able", "半失能": "partly_unable", "全失能": "unable"}),
    "疾病情况": ("person.illness", None),
    "残疾情况": ("person.disability", None),
}
REQUIRED = ["村（社区）代码", "地址", "姓名", "性别", "出生年份", "身份证号", "自理能力"]
NUMERIC = {"latitude": float, "longitude": float, "person.birth_year": int}
HEADER_OF = {path: header for header, (path, _) in COLUMNS.items()}

TEMPLATE = ",".join(COLUMNS) + "\n"


class ParsedCsv(msgspec.Struct, kw_only=True):
    items: list[HouseholdCreate]
    row_numbers: list[int]  # the CSV line of each item, for error messages
    errors: list[RowError]


def _error(row: int, path: str, code: str, message: str) -> RowError:
    return RowError(row=row, column=HEADER_OF.get(path, path), code=code, message=message)


def _row_to_doc(raw: dict[str, str], row: int, errors: list[RowError]) -> dict[str, Any] | None:
    doc: dict[str, Any] = {"person": {}}
    ok = True
    for header, (path, words) in COLUMNS.items():
        value = (raw.get(header) or "").strip()
        if not value:
            if header in REQUIRED:
                errors.append(_error(row, path, "required", "此项必填"))
                ok = False
            continue
        if words is not None:
            if value not in words:
                errors.append(_error(row, path, "choice", f"只能填写：{'、'.join(words)}"))
                ok = False
                continue
            value = words[value]
        if path in NUMERIC:
            try:
                value = NUMERIC[path](value)
            except ValueError:
                errors.append(_error(row, path, "type", "应为数字"))
                ok = False
                continue
        if path.startswith("person."):
            doc["person"][path.removeprefix("person.")] = value
        else:
            doc[path] = value
    return doc if ok else None


def parse(content: bytes) -> ParsedCsv:
    errors: list[RowError] = []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedCsv(
            items=[],
            row_numbers=[],
            errors=[
                RowError(
                    row=1,
                    column="",
                    code="csv.encoding",
                    message="文件不是 UTF-8 编码，请在表格软件中另存为“CSV UTF-8”",
                )
            ],
        )
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = headers
    missing = [h for h in REQUIRED if h not in headers]
    unknown = [h for h in headers if h and h not in COLUMNS]
    if missing or unknown:
        for h in missing:
            errors.append(RowError(row=1, column=h, code="csv.missing_column", message=f"缺少列“{h}”"))
        for h in unknown:
            errors.append(RowError(row=1, column=h, code="csv.unknown_column", message=f"无法识别的列“{h}”"))
        return ParsedCsv(items=[], row_numbers=[], errors=errors)
    items: list[HouseholdCreate] = []
    rows: list[int] = []
    for index, raw in enumerate(reader):
        line = index + 2  # header is line 1
        if index >= MAX_ROWS:
            errors.append(
                RowError(row=line, column="", code="csv.too_many_rows", message=f"一次最多导入 {MAX_ROWS} 行")
            )
            break
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        doc = _row_to_doc(raw, line, errors)
        if doc is None:
            continue
        try:
            items.append(msgspec.convert(doc, HouseholdCreate))
            rows.append(line)
        except msgspec.ValidationError as exc:
            fe = translate(str(exc))
            errors.append(_error(line, fe.field, fe.code, fe.message))
    if not items and not errors:
        errors.append(RowError(row=2, column="", code="csv.empty", message="文件中没有数据行"))
    return ParsedCsv(items=items, row_numbers=rows, errors=errors)
