"""Participation records: aggregates per buurt, and no personal value in output, logs or errors."""

from __future__ import annotations

import logging
import traceback
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.municipal_payloads import write_municipal_files
from wup_pipeline.demo.population import demo_population
from wup_pipeline.resources.errors import InputError
from wup_pipeline.sources.participation import CONCERNS, aggregate_columns, aggregate_participation, postcode_buurten

TEMPLATES = Path(__file__).resolve().parents[1] / "docs" / "templates"
SURVEY_HEADER = ["respondent_id", "naam", "buurt_code", "postcode", "date", "channel", "willing_to_act",
                 "main_concern", "remarks"]
# Values that must never leave the module: ids, names, postcodes, remarks with a phone number.
PERSONAL = ["GEHEIM-R", "Pietje Puk", "9876ZX", "9876 ZX", "9877", "Jan de Vries", "06-12345678",
            "pietje@voorbeeld.invalid"]

ADDRESSES = pl.DataFrame({
    "postcode": ["9876ZX"] * 3 + ["9876ZY", "9877AB", "9877AB", "9878AA"],
    "buurtcode": ["BU00010002", "BU00010002", "BU00010001", "BU00010003", "BU00010003", "BU00010003",
                  "BU00010001"],
})


def survey_rows() -> list[list[str]]:
    """12 respondents in BU00010001 by code, 3 in BU00010002 and 1 in BU00010003 by postcode only."""
    willing = ["ja"] * 5 + ["misschien"] * 4 + ["nee"] * 2 + [""]
    concerns = ["kosten"] * 6 + ["comfort"] * 2 + ["geen"] * 3 + [""]
    rows = [[f"GEHEIM-R{i:03d}", "Pietje Puk", "BU00010001", "", "12-05-2025", "enquete", w, c,
             "Jan de Vries, 06-12345678, wil teruggebeld worden"] for i, (w, c) in enumerate(zip(willing, concerns,
                                                                                               strict=True))]
    rows += [[f"GEHEIM-R1{i:02d}", "Pietje Puk", "", "9876 ZX", "2025-05-13", "Keukentafelgesprek", "Ja",
              "onzekerheid", 'Zei "misschien" tegen Jan de Vries'] for i in range(3)]
    rows += [["GEHEIM-R200", "pietje@voorbeeld.invalid", "", "9877", "", "", "nee", "overlast", ""]]
    return rows


def write_survey(path: Path, rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8-sig",
                 header: list[str] = SURVEY_HEADER) -> Path:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if delimiter in value or '"' in value else value

    lines = [delimiter.join(header)] + [delimiter.join(cell(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_contacts(path: Path) -> Path:
    path.write_text("buurt_code,date,channel,households_reached\n"
                    "BU00010001,2025-03-01,bewonersavond,40\n"
                    "BU00010001,15-04-2025,huis aan huis,100\n"
                    "BU00010004,2025-06-30,bewonersavond,30\n", encoding="utf-8")
    return path


def assert_no_personal_value(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, f"personal value {value!r} leaked"


def test_aggregates_per_buurt(tmp_path):
    survey = write_survey(tmp_path / "survey.csv", survey_rows())
    contacts = write_contacts(tmp_path / "contacts.csv")
    result = aggregate_participation(survey, contacts, ADDRESSES)
    assert result.schema == pl.Schema(aggregate_columns())
    rows = {r["buurt_code"]: r for r in result.iter_rows(named=True)}
    assert list(rows) == ["BU00010001", "BU00010002", "BU00010003", "BU00010004"]

    one = rows["BU00010001"]
    assert (one["contact_moments"], one["households_reached"]) == (2, 140)
    assert (one["first_contact_date"], one["last_contact_date"]) == (date(2025, 3, 1), date(2025, 4, 15))
    assert one["respondents"] == 12
    assert (one["willing_yes"], one["willing_maybe"], one["willing_no"], one["willing_unknown"]) == (5, 4, 2, 1)
    assert {c: one[f"concern_{c}"] for c in CONCERNS} == {
        "kosten": 6, "comfort": 2, "overlast": 0, "onzekerheid": 0, "techniek": 0, "geen": 3, "overig": 0}
    assert one["concern_unknown"] == 1 and one["small_cell"] is False

    # '9876 ZX' has two addresses in BU00010002 and one in BU00010001: the majority buurt gets them
    two = rows["BU00010002"]
    assert (two["respondents"], two["willing_yes"], two["concern_onzekerheid"]) == (3, 3, 3)
    assert two["contact_moments"] == 0 and two["small_cell"] is True
    # a four-digit postcode maps through the buurt holding most of that PC4's addresses
    assert rows["BU00010003"]["respondents"] == 1 and rows["BU00010003"]["willing_no"] == 1
    four = rows["BU00010004"]
    assert (four["respondents"], four["households_reached"], four["small_cell"]) == (0, 30, True)


def test_small_cells_threshold_and_suppression(tmp_path):
    survey = write_survey(tmp_path / "survey.csv", survey_rows())
    flagged = aggregate_participation(survey, None, ADDRESSES, k=3)
    assert dict(flagged.select("buurt_code", "small_cell").iter_rows()) == {
        "BU00010001": False, "BU00010002": False, "BU00010003": True}
    suppressed = aggregate_participation(survey, None, ADDRESSES, suppress_small_cells=True)
    small = suppressed.filter(pl.col("buurt_code") == "BU00010002").row(0, named=True)
    assert small["respondents"] == 3
    assert small["willing_yes"] is None and small["concern_onzekerheid"] is None
    big = suppressed.filter(pl.col("buurt_code") == "BU00010001").row(0, named=True)
    assert big["willing_yes"] == 5
    with pytest.raises(ValueError, match="k must be at least 1"):
        aggregate_participation(survey, None, ADDRESSES, k=0)


def test_postcode_to_buurt_majority_and_ties():
    mapping = dict(postcode_buurten(ADDRESSES.vstack(pl.DataFrame({"postcode": ["9878 aa"],
                                                                   "buurtcode": ["BU00010000"]})))
                   .collect().iter_rows())
    assert mapping["9876ZX"] == "BU00010002"
    assert mapping["9877"] == "BU00010003" and mapping["9877AB"] == "BU00010003"
    assert mapping["9878AA"] == "BU00010000"  # one address each: the lowest code


def test_survey_in_a_workbook_with_a_title_row(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Enquête aardgasvrij, ronde 1"])
    sheet.append([h.replace("_", " ").title() for h in SURVEY_HEADER])
    for row in survey_rows():
        sheet.append(row)
    workbook.save(tmp_path / "survey.xlsx")
    result = aggregate_participation(tmp_path / "survey.xlsx", None, ADDRESSES)
    assert result["respondents"].to_list() == [12, 3, 1]


def test_the_output_holds_aggregates_only(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    survey = write_survey(tmp_path / "survey.csv", survey_rows())
    result = aggregate_participation(survey, write_contacts(tmp_path / "contacts.csv"), ADDRESSES)
    assert not {"respondent_id", "remarks", "postcode", "naam"} & set(result.columns)
    assert_no_personal_value(str(result.to_dicts()) + result.write_csv())
    assert "respondents" in caplog.text  # it does log, and only counts
    assert_no_personal_value(caplog.text)


def bad_survey_cases() -> dict[str, tuple[list[list[str]], pl.DataFrame | None, str, str]]:
    """name -> (rows, addresses, field named in the error, words in the message)."""
    rows = survey_rows()

    def changed(index: int, column: str, value: str) -> list[list[str]]:
        copy = [list(r) for r in rows]
        copy[index][SURVEY_HEADER.index(column)] = value
        return copy

    return {
        "bad postcode": (changed(13, "postcode", "9876 ZXX"), ADDRESSES, "postcode", "expected a postcode"),
        "repeated respondent": (changed(5, "respondent_id", "GEHEIM-R001"), ADDRESSES, "respondent_id",
                                "one row per respondent"),
        "postcode outside the addresses": (changed(14, "postcode", "9876 ZZ"), ADDRESSES, "postcode",
                                           "maps to no buurt"),
        "postcode without addresses": (rows, None, "buurt_code", "pass the addresses"),
        "no buurt and no postcode": (changed(15, "postcode", ""), ADDRESSES, "buurt_code", "both empty"),
    }


@pytest.mark.parametrize("case", list(bad_survey_cases()))
def test_errors_name_file_row_and_field_but_no_personal_value(tmp_path, caplog, case):
    caplog.set_level(logging.DEBUG)
    rows, addresses, field, words = bad_survey_cases()[case]
    path = write_survey(tmp_path / "survey.csv", rows)
    with pytest.raises(InputError) as caught:
        aggregate_participation(path, None, addresses)
    error = caught.value
    assert str(path) in str(error) and error.field == field and words in str(error)
    assert isinstance(error.record, int) and f"row {error.record}" in str(error)
    shown = "".join(traceback.format_exception(error)) + repr(error.args)
    assert_no_personal_value(shown)
    assert_no_personal_value(caplog.text)


def test_a_malformed_survey_file_does_not_quote_its_lines(tmp_path):
    path = tmp_path / "survey.csv"
    header = ";".join(SURVEY_HEADER)
    # an opened quote that never closes, and a stray one mid-field: polars quotes such lines in its errors
    path.write_text(f'{header}\nGEHEIM-R001;Pietje Puk;BU00010001;;;;ja;kosten;"Jan de Vries 06-12345678\n'
                    'GEHEIM-R002;x"Pietje Puk;BU00010001;;;;ja;kosten;\n', encoding="utf-8")
    try:
        result = aggregate_participation(path, None)
    except InputError as error:
        assert_no_personal_value("".join(traceback.format_exception(error)))
    else:
        assert_no_personal_value(str(result.to_dicts()))


def test_category_errors_list_the_allowed_values(tmp_path):
    rows = survey_rows()
    rows[2][SURVEY_HEADER.index("willing_to_act")] = "weet niet"
    with pytest.raises(InputError) as caught:
        aggregate_participation(write_survey(tmp_path / "s.csv", rows), None, ADDRESSES)
    assert "row 4 field 'willing_to_act'" in str(caught.value) and "['ja', 'misschien', 'nee']" in str(caught.value)
    rows = survey_rows()
    rows[0][SURVEY_HEADER.index("main_concern")] = "geld"
    with pytest.raises(InputError) as caught:
        aggregate_participation(write_survey(tmp_path / "s.csv", rows), None, ADDRESSES)
    for allowed in CONCERNS:
        assert allowed in str(caught.value)


def test_contacts_only(tmp_path):
    result = aggregate_participation(None, write_contacts(tmp_path / "contacts.csv"))
    assert result["buurt_code"].to_list() == ["BU00010001", "BU00010004"]
    assert result["households_reached"].to_list() == [140, 30]
    assert result["respondents"].to_list() == [0, 0] and result["small_cell"].all()
    with pytest.raises(ValueError, match="needs a survey file, a contacts file, or both"):
        aggregate_participation(None, None)


def test_contacts_errors(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("buurt_code;date;channel;households_reached\nBU00010001;2025-01-01;flyer;10\n")
    with pytest.raises(InputError) as caught:
        aggregate_participation(None, path)
    assert "row 2 field 'channel'" in str(caught.value) and "keukentafelgesprek" in str(caught.value)
    path.write_text("buurt_code;date;channel;households_reached\nBU00010001;2025-01-01;bewonersavond;-3\n")
    with pytest.raises(InputError, match="households_reached.*whole number >= 0"):
        aggregate_participation(None, path)
    path.write_text("buurt_code;date;channel\nBU00010001;2025-01-01;bewonersavond\n")
    with pytest.raises(InputError, match=r"missing required columns \['households_reached'\]"):
        aggregate_participation(None, path)


def test_survey_needs_a_buurt_or_postcode_column(tmp_path):
    header = ["respondent_id", "willing_to_act"]
    path = write_survey(tmp_path / "s.csv", [["GEHEIM-R1", "ja"]], header=header)
    with pytest.raises(InputError, match="needs column 'buurt_code' or 'postcode'"):
        aggregate_participation(path, None)


def test_template_files_aggregate():
    addresses = pl.DataFrame({"postcode": ["9991AB"], "buurt_code": ["BU99990101"]})
    result = aggregate_participation(TEMPLATES / "participation_survey.csv",
                                     TEMPLATES / "participation_contacts.csv", addresses)
    assert dict(result.select("buurt_code", "respondents").iter_rows()) == {"BU99990101": 1, "BU99990102": 1}
    assert result.filter(pl.col("buurt_code") == "BU99990102")["households_reached"].to_list() == [165]


def test_demo_survey(tmp_path):
    population = demo_population()
    paths = write_municipal_files(tmp_path, population)
    verblijfsobjecten, _ = demo_buildings(population)
    result = aggregate_participation(paths["survey"], paths["contacts"], verblijfsobjecten)
    surveyed = result.filter(pl.col("respondents") > 0)
    assert 4 <= surveyed.height <= 5
    assert 200 <= surveyed["respondents"].sum() <= 500
    assert surveyed.filter(pl.col("small_cell")).height == 1  # one buurt under 10 respondents
    raw = paths["survey"].read_text(encoding="utf-8-sig")
    assert surveyed["respondents"].sum() == raw.count("\n") - 1
    assert "Bewoner 00001 (synthetisch)" in raw and "R00001" in raw
    shown = str(result.to_dicts())
    assert "Bewoner" not in shown and "R00001" not in shown
    assert set(result["buurt_code"]) <= set(population.buurten["buurt_code"])
    assert (result["households_reached"] > 0).all()
