"""CSV import of households: Chinese headers, UTF-8 (with or without BOM), every row or none."""

from __future__ import annotations

import re

import pytest

from carepact.audit.tables import AuditEvent
from carepact.registry.tables import Household, Person
from tests.support import CSV_HEADERS, csv_file, csv_row, household_body, new_id_number, upload, villages

CJK = re.compile(r"[\u4e00-\u9fff]")


async def counts() -> tuple[int, int]:
    return await Household.count(), await Person.count()


@pytest.mark.parametrize("bom", [False, True], ids=["utf-8", "utf-8 with BOM"])
async def test_valid_file_imports_every_row_with_id_numbers_protected(api, world, bom: bool) -> None:
    weibin = await villages("610302")
    rows = [
        csv_row(weibin[0], 姓名="王秀兰", 性别="女", 自理能力="全自理"),
        csv_row(weibin[0], 姓名="李建国", 纬度="34.371234", 经度="107.151234"),
        csv_row(weibin[5], 姓名="赵桂芳", 性别="女", 自理能力="全失能", 疾病情况="", 残疾情况="肢体残疾二级"),
    ]
    before = await counts()
    r = await api("weibin_auditor").post("/api/households/import", files=upload(csv_file(rows, bom=bom)))
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["imported"] == 3 and len(result["household_ids"]) == 3
    assert await counts() == (before[0] + 3, before[1] + 3)

    numbers = [row["身份证号"] for row in rows]
    for row, hid in zip(rows, result["household_ids"], strict=True):
        number = row["身份证号"]
        detail = (await api("weibin_auditor").get(f"/api/households/{hid}")).json()
        assert detail["code"].startswith(row["村（社区）代码"] + "-")
        [person] = detail["persons"]
        assert person["name"] == row["姓名"]
        assert person["gender_label"] == row["性别"]
        assert person["care_level_label"] == row["自理能力"]
        assert person["id_number_masked"] == number[:6] + "********" + number[-4:]
        # Stored protected: no column of the person's row holds the number (or its digits in order).
        stored = await Person.select().where(Person.id == person["id"]).first()
        assert not any(number in str(value) or number[6:14] in str(value) for value in stored.values())
        if row["疾病情况"]:
            assert row["疾病情况"] not in stored["health_protected"]
        # The masked list and detail never carry the plaintext; the logged read does.
        listing = await api("weibin_auditor").get(f"/api/households?q={detail['code']}")
        for response_text in (listing.text, str(detail)):
            assert not any(n in response_text for n in numbers)
        sensitive = (await api("weibin_auditor").get(f"/api/persons/{person['id']}/sensitive")).json()
        assert sensitive["id_number"] == number
    # Nor does the audit log of the import hold any ID number.
    payloads = await AuditEvent.select(AuditEvent.payload).where(AuditEvent.action == "household.create")
    assert not any(n in p["payload"] for n in numbers for p in payloads)


async def test_bad_rows_refuse_the_whole_file_and_name_every_problem(api, world) -> None:
    weibin = await villages("610302")
    registered = household_body(weibin[1], birth_year=1990)
    assert (await api("weibin_auditor").post("/api/households", json=registered)).status_code == 201
    taken = registered["person"]["id_number"]
    # One ending in X, typed again with an input method's full-width digits: the same person.
    taken_x = next(n for n in iter(lambda: new_id_number(1990), None) if n.endswith("X"))
    registered = household_body(weibin[1], birth_year=1990, id_number=taken_x)
    assert (await api("weibin_auditor").post("/api/households", json=registered)).status_code == 201
    full_width = taken_x.translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    first = csv_row(weibin[2])
    bad_check = new_id_number(1990)
    bad_check = bad_check[:17] + ("0" if bad_check[17] != "0" else "1")
    rows = [
        first,  # line 2: fine
        csv_row(weibin[2], 身份证号=bad_check),  # 3
        csv_row(weibin[2], 出生年份="1991"),  # 4: the number says 1990
        csv_row("610302999999"),  # 5: no such village
        csv_row(weibin[2], 性别="男性"),  # 6
        csv_row(weibin[2], 姓名=""),  # 7: a required cell left empty
        csv_row(weibin[3], 身份证号=first["身份证号"]),  # 8: same person as line 2
        csv_row(weibin[3], 身份证号=taken),  # 9: already registered
        csv_row(weibin[3], 身份证号=full_width),  # 10: a registered number, retyped in full-width digits
        csv_row(weibin[3], 自理能力="能自理"),  # 11
        csv_row(weibin[3], 出生年份="一九九〇"),  # 12
        csv_row(weibin[3]),  # 13: fine
    ]
    before = await counts()
    r = await api("weibin_auditor").post("/api/households/import", files=upload(csv_file(rows)))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "import.invalid"
    assert CJK.search(body["message"]) and "未导入" in body["message"]
    got = [(e["row"], e["column"], e["code"]) for e in body["rows"]]
    assert got == [
        (3, "身份证号", "person.id_number_invalid"),
        (4, "出生年份", "person.birth_year_mismatch"),
        (5, "村（社区）代码", "region.unknown_village"),
        (6, "性别", "choice"),
        (7, "姓名", "required"),
        (8, "身份证号", "person.duplicate_in_batch"),
        (9, "身份证号", "person.already_registered"),
        (10, "身份证号", "format"),
        (11, "自理能力", "choice"),
        (12, "出生年份", "type"),
    ]
    for e in body["rows"]:
        assert CJK.search(e["message"]), e
    # The duplicate names the line a clerk sees in the spreadsheet, not a position in a list.
    assert "第 2 行" in body["rows"][5]["message"]
    assert "男、女" in body["rows"][3]["message"]
    assert await counts() == before


async def test_missing_column_is_refused_before_any_row(api, world) -> None:
    weibin = await villages("610302")
    headers = [h for h in CSV_HEADERS if h != "身份证号"]
    before = await counts()
    r = await api("weibin_auditor").post(
        "/api/households/import", files=upload(csv_file([csv_row(weibin[0])], headers=headers))
    )
    assert r.status_code == 422
    assert [(e["row"], e["column"], e["code"]) for e in r.json()["rows"]] == [(1, "身份证号", "csv.missing_column")]
    assert "身份证号" in r.json()["rows"][0]["message"]
    assert await counts() == before


async def test_gbk_file_is_refused_with_a_clear_message(api, world) -> None:
    weibin = await villages("610302")
    content = csv_file([csv_row(weibin[0])]).encode("gbk")
    before = await counts()
    r = await api("weibin_auditor").post("/api/households/import", files=upload(content))
    assert r.status_code == 422
    [error] = r.json()["rows"]
    assert error["code"] == "csv.encoding"
    assert "UTF-8" in error["message"] and CJK.search(error["message"])
    assert await counts() == before


async def test_file_without_data_rows_is_refused(api, world) -> None:
    r = await api("weibin_auditor").post("/api/households/import", files=upload(csv_file([])))
    assert r.status_code == 422
    assert [e["code"] for e in r.json()["rows"]] == ["csv.empty"]


async def test_template_round_trips(api, world) -> None:
    """The downloadable template has exactly the columns the importer reads, with a BOM."""
    r = await api("weibin_auditor").get("/api/households/import-template.csv")
    assert r.status_code == 200
    assert r.content.startswith("\ufeff".encode())
    header = r.content.decode("utf-8-sig").strip().split(",")
    assert set(header) == set(CSV_HEADERS)
    weibin = await villages("610302")
    body = r.content.decode("utf-8-sig") + csv_file([csv_row(weibin[4])], headers=header).split("\r\n", 1)[1]
    r = await api("weibin_auditor").post("/api/households/import", files=upload(body))
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 1
