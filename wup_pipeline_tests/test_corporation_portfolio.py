"""Housing-corporation portfolios: forgiving reading, strict checks, set-based matching to the BAG."""

from __future__ import annotations

import pickle
from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.municipal_payloads import write_municipal_files
from wup_pipeline.demo.population import demo_population
from wup_pipeline.resources.errors import InputError
from wup_pipeline.sources.corporation_portfolio import match_portfolio_to_bag, read_corporation_portfolio

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BAG_TESTAREA = SHARED / "data" / "bag_testarea_denhaag" / "bag_verblijfsobject_testarea.csv"
TEMPLATES = Path(__file__).resolve().parents[1] / "docs" / "templates"

HEADER = ["corporation", "bag_vbo_id", "postcode", "huisnummer", "huisletter", "toevoeging", "energy_label",
          "label_date", "planned_renovation_year", "planned_measure", "rent_class"]
ROWS = [
    ["Woonstichting Coöperatie", "0518010000417296", "", "", "", "", "a+", "1-5-2023", "2028", "Hybride warmtepomp",
     "Sociaal"],
    ["Woonstichting Coöperatie", "", "2593 pj", "2", "j", "", "label B", "2023-05-01", "", "", "middenhuur"],
    ["Woonstichting Coöperatie", "", "2271AH", "12", "", "bis", "", "", "2030", "sloop/nieuwbouw", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ";",
              encoding: str = "utf-8", title_rows: int = 0) -> Path:
    lines = [delimiter * (len(header) - 1)] * title_rows
    if title_rows:
        lines[0] = "Export portefeuille" + delimiter * (len(header) - 1)
    lines += [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(path: Path, header: list, rows: list[list], title_rows: int = 2) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for i in range(title_rows):
        sheet.append(["Vastgoedportefeuille 2025" if i == 0 else None])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.mark.parametrize(
    "delimiter, encoding",
    [(";", "utf-8"), (",", "utf-8"), (";", "utf-8-sig"), (";", "cp1252"), ("\t", "utf-16")],
    ids=["semicolon-utf8", "comma-utf8", "bom", "cp1252", "excel-unicode-text"],
)
def test_csv_variants_read_the_same(tmp_path, delimiter, encoding):
    header = [" Corporation", "BAG VBO-ID", "Postcode ", "HUISNUMMER", "huisletter", "Toevoeging", "Energy label",
              "label date", "planned renovation year", "planned_measure", "Rent_Class"]
    path = write_csv(tmp_path / "portfolio.csv", header, ROWS, delimiter=delimiter, encoding=encoding)
    frame = read_corporation_portfolio(path)
    assert frame["source_row"].to_list() == [2, 3, 4]
    assert frame["corporation"].to_list() == ["Woonstichting Coöperatie"] * 3
    assert frame["vbo_id"].to_list() == ["0518010000417296", None, None]
    assert frame["postcode"].to_list() == [None, "2593PJ", "2271AH"]
    assert frame["house_number"].to_list() == [None, 2, 12]
    assert frame["house_letter"].to_list() == [None, "J", None]
    assert frame["house_number_addition"].to_list() == [None, None, "BIS"]
    assert frame["energy_label"].to_list() == ["A+", "B", None]
    assert frame["label_date"].to_list() == [date(2023, 5, 1), date(2023, 5, 1), None]
    assert frame["planned_renovation_year"].to_list() == [2028, None, 2030]
    assert frame["planned_measure"].to_list() == ["hybride_warmtepomp", None, "sloop_nieuwbouw"]
    assert frame["rent_class"].to_list() == ["sociaal", "middenhuur", None]
    assert frame.schema["planned_renovation_year"] == pl.Int64


def test_csv_title_rows_and_trailing_empty_rows_keep_excel_row_numbers(tmp_path):
    rows = ROWS[:2] + [[""] * len(HEADER)] + ROWS[2:] + [[""] * len(HEADER)] * 3
    path = write_csv(tmp_path / "portfolio.csv", HEADER, rows, title_rows=2)
    frame = read_corporation_portfolio(path)
    # title, blank, header on row 3; data on 4, 5, (empty 6), 7
    assert frame["source_row"].to_list() == [4, 5, 7]


def test_xlsx_with_title_rows_and_typed_cells(tmp_path):
    rows = [
        # Excel took the id for a number and dropped its leading zero; years came back as floats
        ["Woonstichting X", 518010000417296, None, None, None, None, "C", datetime(2021, 3, 4), 2029.0, "isolatie",
         "sociaal"],
        ["Woonstichting X ", None, "2593PJ", 2, "J", None, " d ", None, None, None, "vrije sector"],
    ]
    path = write_xlsx(tmp_path / "portfolio.xlsx", [h.upper() for h in HEADER], rows, title_rows=2)
    frame = read_corporation_portfolio(path)
    assert frame["source_row"].to_list() == [4, 5]  # as Excel shows them: title, blank, header, data
    assert frame["vbo_id"].to_list() == ["0518010000417296", None]
    assert frame["corporation"].to_list() == ["Woonstichting X", "Woonstichting X"]
    assert frame["label_date"].to_list() == [date(2021, 3, 4), None]
    assert frame["planned_renovation_year"].to_list() == [2029, None]
    assert frame["energy_label"].to_list() == ["C", "D"]
    assert frame["house_number"].to_list() == [None, 2]
    assert frame["rent_class"].to_list() == ["sociaal", "vrije_sector"]


def test_missing_required_column_lists_the_columns_found(tmp_path):
    header = ["corporatoin", "bag_vbo_id", "energy_label"]
    path = write_csv(tmp_path / "portfolio.csv", header, [["X", "0518010000417296", "B"]])
    with pytest.raises(InputError) as caught:
        read_corporation_portfolio(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'corporation'" in message and "corporatoin" in message and "bag_vbo_id" in message
    assert caught.value.field == "corporation"


def test_neither_id_nor_address_columns(tmp_path):
    path = write_csv(tmp_path / "portfolio.csv", ["corporation", "energy_label"], [["X", "B"]])
    with pytest.raises(InputError, match="needs column 'bag_vbo_id' or the address columns"):
        read_corporation_portfolio(path)


def bad_row(tmp_path: Path, column: str, value: str, row: int = 1) -> InputError:
    rows = [list(ROWS[0]) for _ in range(3)]
    rows[row][HEADER.index(column)] = value
    path = write_csv(tmp_path / "portfolio.csv", HEADER, rows)
    with pytest.raises(InputError) as caught:
        read_corporation_portfolio(path)
    assert str(path) in str(caught.value)
    return caught.value


def test_bad_label_names_row_field_value_and_allowed_labels(tmp_path):
    error = bad_row(tmp_path, "energy_label", "H", row=1)
    assert error.record == 3 and error.field == "energy_label"
    assert "row 3 field 'energy_label'" in str(error)
    assert "'H'" in str(error) and "A++++" in str(error) and "G" in str(error)
    again = pickle.loads(pickle.dumps(error))  # errors cross process boundaries intact
    assert str(again) == str(error) and again.record == 3 and isinstance(again, InputError)


@pytest.mark.parametrize("value", ["2O28", "28", "1800", "2028.5"])
def test_bad_year(tmp_path, value):
    error = bad_row(tmp_path, "planned_renovation_year", value, row=2)
    assert error.record == 4 and error.field == "planned_renovation_year"
    assert repr(value) in str(error) and "a year between 1990 and 2100" in str(error)


@pytest.mark.parametrize(
    "value, hint",
    [("0518100000267536", "'01' as 5th and 6th digit"),  # a pand id
     ("051801000041", "16 digits"),
     ("5.18010000417296E+14", "scientific notation"),
     ("0518-01-0000417296x", "16 digits")],
)
def test_bad_vbo_id(tmp_path, value, hint):
    error = bad_row(tmp_path, "bag_vbo_id", value, row=0)
    assert error.record == 2 and error.field == "bag_vbo_id"
    assert hint in str(error)


def test_unknown_category_lists_the_allowed_values(tmp_path):
    error = bad_row(tmp_path, "planned_measure", "zonnepanelen")
    assert error.field == "planned_measure"
    for allowed in ("isolatie", "warmtepomp", "hybride_warmtepomp", "warmtenet", "sloop_nieuwbouw", "overig"):
        assert allowed in str(error)
    error = bad_row(tmp_path, "rent_class", "koop")
    assert "sociaal" in str(error) and "middenhuur" in str(error) and "vrije_sector" in str(error)


def test_other_row_problems(tmp_path):
    assert "four digits and two letters" in str(bad_row(tmp_path, "postcode", "25930PJ"))
    no_identity = bad_row(tmp_path, "bag_vbo_id", "", row=1)  # no id and no address
    assert no_identity.record == 3 and no_identity.field == "bag_vbo_id"
    assert "no bag_vbo_id and no address" in str(no_identity)
    assert "day-month-year" in str(bad_row(tmp_path, "label_date", "31-02-2023"))
    assert "cell is empty" in str(bad_row(tmp_path, "corporation", ""))


def test_many_bad_rows_are_counted_in_one_message(tmp_path):
    rows = [list(ROWS[0]) for _ in range(15)]
    for row in rows[3:]:
        row[HEADER.index("energy_label")] = "X"
    path = write_csv(tmp_path / "portfolio.csv", HEADER, rows)
    with pytest.raises(InputError) as caught:
        read_corporation_portfolio(path)
    assert caught.value.record == 5
    assert "12 rows with this problem" in str(caught.value) and "rows 5, 6, 7" in str(caught.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_corporation_portfolio(tmp_path / "missing.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"\.xls"):
        read_corporation_portfolio(tmp_path / "old.xls")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot open as an Excel workbook"):
        read_corporation_portfolio(tmp_path / "broken.xlsx")


def test_template_file_reads():
    frame = read_corporation_portfolio(TEMPLATES / "corporation_portfolio.csv")
    assert frame.height == 2
    assert frame["vbo_id"][0] == "9999010000000001" and frame["postcode"][1] == "9991AB"


# --- matching -----------------------------------------------------------------------------------------

BAG = pl.DataFrame(
    {
        "identificatie": ["0001010000000001", "0001010000000002", "0001010000000003", "0001010000000004",
                          "0001010000000005", "0001010000000006", "0001010000000007"],
        "postcode": ["1011AA", "1011AA", "1011AB", "1011AB", "1011AC", "1011AC", "1011AD"],
        "huisnummer": [1, 2, 3, 3, 9, 9, 4],
        "huisletter": [None, "A", None, None, None, None, None],
        "huisnummertoevoeging": [None, None, "2", "3", None, None, "H"],
        "buurt_code": ["BU00010001"] * 4 + ["BU00010002"] * 3,
    }
)


def portfolio(*rows: dict) -> pl.DataFrame:
    keys = ["vbo_id", "postcode", "house_number", "house_letter", "house_number_addition"]
    frame = pl.DataFrame([{k: r.get(k) for k in keys} for r in rows],
                         schema={"vbo_id": pl.String, "postcode": pl.String, "house_number": pl.Int64,
                                 "house_letter": pl.String, "house_number_addition": pl.String})
    return frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("source_row"),
                              pl.lit("Corp").alias("corporation"))


def test_match_by_id_then_address_then_loose_address_with_reasons():
    rows = portfolio(
        {"vbo_id": "0001010000000001", "postcode": "1011AA", "house_number": 1},  # 2: id, address agrees
        {"postcode": "1011AA", "house_number": 2, "house_letter": "A"},  # 3: exact address
        {"postcode": "1011AB", "house_number": 3, "house_number_addition": "3"},  # 4: exact address
        {"postcode": "1011AD", "house_number": 4, "house_letter": "H"},  # 5: letter typed where BAG has addition
        {"postcode": "1011AC", "house_number": 9},  # 6: two verblijfsobjecten on one address
        {"vbo_id": "0001010000009999"},  # 7: unknown id
        {"vbo_id": "0001010000009998", "postcode": "1011AA", "house_number": 2, "house_letter": "A"},  # 8: dup of 3
        {"postcode": "1011ZZ", "house_number": 1},  # 9: unknown address
        {"vbo_id": "0001010000000002", "postcode": "1011AA", "house_number": 1},  # 10: id wins; address differs
        {"vbo_id": "0001010000009997", "postcode": "1011AB", "house_number": 3, "house_number_addition": "2"},  # 11
    )
    matched, unmatched = match_portfolio_to_bag(rows, BAG)
    got = {r["source_row"]: (r["vbo_id"], r["match_method"], r["address_differs"], r["buurt_code"])
           for r in matched.iter_rows(named=True)}
    assert got == {
        2: ("0001010000000001", "vbo_id", False, "BU00010001"),
        3: ("0001010000000002", "address", None, "BU00010001"),
        4: ("0001010000000004", "address", None, "BU00010001"),
        5: ("0001010000000007", "address_loose", None, "BU00010002"),
        11: ("0001010000000003", "address", None, "BU00010001"),
    }
    reasons = dict(unmatched.select("source_row", "reason").iter_rows())
    assert reasons[6] == "address matches 2 verblijfsobjecten; give bag_vbo_id"
    assert reasons[7] == "vbo_id not found in the BAG"
    assert reasons[8] == "same verblijfsobject as row 3"
    assert reasons[9].startswith("address not found in the BAG")
    assert reasons[10] == "same verblijfsobject as row 3"
    assert set(reasons) == {6, 7, 8, 9, 10}
    assert matched.height + unmatched.height == rows.height
    assert "reason" in unmatched.columns and "vbo_id" in unmatched.columns


def test_address_differs_when_id_and_address_disagree():
    rows = portfolio({"vbo_id": "0001010000000002", "postcode": "1011AA", "house_number": 1})
    matched, unmatched = match_portfolio_to_bag(rows, BAG.lazy())
    assert unmatched.is_empty()
    assert matched.row(0, named=True)["address_differs"] is True


def test_bag_frame_without_address_columns_is_refused():
    with pytest.raises(ValueError, match="no column for postcode"):
        match_portfolio_to_bag(portfolio({"vbo_id": "0001010000000001"}), BAG.drop("postcode"))


@pytest.mark.shared_data
def test_matching_real_bag_addresses_of_den_haag(tmp_path):
    """Real BAG (31,293 verblijfsobjecten): a portfolio typed by id or by address in Excel finds them all."""
    if not BAG_TESTAREA.exists():
        pytest.skip(f"real BAG test area not available at {BAG_TESTAREA}")
    bag = pl.read_csv(BAG_TESTAREA, infer_schema=False)
    keys = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging"]
    unique_address = bag.filter(pl.col("postcode").is_not_null() & ~pl.struct(keys).is_duplicated())
    sample = unique_address.filter(pl.col("gebruiksdoel").str.contains("woonfunctie")).sample(1500, seed=7)
    sample = sample.with_row_index("i")
    by_id = pl.col("i") % 2 == 0
    rows = sample.select(
        pl.lit("Haagse Woningstichting").alias("corporation"),
        pl.when(by_id).then("vbo_id").otherwise(pl.lit("")).alias("bag_vbo_id"),
        # addresses the way people type them: '2593 pj', lower-case letters and additions
        pl.when(by_id).then(pl.lit("")).otherwise(pl.concat_str(pl.col("postcode").str.slice(0, 4), pl.lit(" "),
                                                                pl.col("postcode").str.slice(4).str.to_lowercase()))
        .alias("postcode"),
        pl.when(by_id).then(pl.lit("")).otherwise("huisnummer").alias("huisnummer"),
        pl.when(by_id).then(pl.lit("")).otherwise(pl.col("huisletter").str.to_lowercase().fill_null(""))
        .alias("huisletter"),
        pl.when(by_id).then(pl.lit("")).otherwise(pl.col("huisnummertoevoeging").fill_null("")).alias("toevoeging"),
    )
    path = write_csv(tmp_path / "portefeuille.csv", rows.columns, [list(r) for r in rows.iter_rows()],
                     encoding="cp1252")
    frame = read_corporation_portfolio(path)
    matched, unmatched = match_portfolio_to_bag(frame, bag)
    assert unmatched.is_empty(), unmatched.head()
    expected = sample.select(pl.col("i").alias("row"), "vbo_id")
    got = matched.select((pl.col("source_row") - 2).alias("row"), "vbo_id", "match_method", "buurtcode")
    joined = expected.join(got, on="row", how="left")
    assert (joined["vbo_id"] == joined["vbo_id_right"]).all()
    assert joined["match_method"].value_counts().sort("match_method").to_dicts() == [
        {"match_method": "address", "count": 750}, {"match_method": "vbo_id", "count": 750}]
    assert joined["buurtcode"].str.starts_with("BU").all()

    # addresses the BAG has twice are reported, not guessed
    twice = bag.filter(pl.col("postcode").is_not_null() & pl.struct(keys).is_duplicated()).head(2)
    ambiguous = portfolio(*[{"postcode": r["postcode"], "house_number": int(r["huisnummer"]),
                             "house_letter": r["huisletter"], "house_number_addition": r["huisnummertoevoeging"]}
                            for r in twice.iter_rows(named=True)])
    matched, unmatched = match_portfolio_to_bag(ambiguous, bag)
    assert matched.is_empty()
    assert unmatched["reason"].str.starts_with("address matches 2 verblijfsobjecten").all()


# --- the demo portfolio ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    population = demo_population()
    paths = write_municipal_files(tmp_path_factory.mktemp("municipal"), population)
    verblijfsobjecten, _ = demo_buildings(population)
    return population, paths, verblijfsobjecten


def test_demo_portfolio_covers_most_corporation_dwellings_of_each_buurt(demo):
    population, paths, verblijfsobjecten = demo
    workbook = openpyxl.load_workbook(paths["corporation_portfolio"], read_only=True)
    first_rows = list(workbook.active.iter_rows(max_row=3, values_only=True))
    workbook.close()
    assert "SYNTHETISCHE DEMO" in first_rows[0][0]  # a title row above the header, like real exports
    assert first_rows[2][0] == "corporation"

    frame = read_corporation_portfolio(paths["corporation_portfolio"])
    matched, unmatched = match_portfolio_to_bag(frame, verblijfsobjecten)
    assert unmatched["reason"].to_list() == ["vbo_id not found in the BAG"] * 2 + [
        "address not found in the BAG (postcode, huisnummer, huisletter, toevoeging)"]
    methods = dict(matched.group_by("match_method").len().iter_rows())
    assert methods["address"] > 200 and methods["vbo_id"] > 1000

    truth = population.dwellings.filter(pl.col("owner_type") == "corporation")
    assert matched["vbo_id"].is_in(truth["dwelling_id"].implode()).all()  # only corporation dwellings
    coverage = (
        truth.group_by("buurt_code").len("owned")
        .join(matched.group_by("buurt_code").len("listed"), on="buurt_code", how="left")
        .with_columns((pl.col("listed") / pl.col("owned")).alias("share"))
    )
    assert coverage["share"].is_between(0.84, 0.96).all(), coverage
    assert set(frame["planned_measure"].drop_nulls()) >= {"isolatie", "hybride_warmtepomp", "warmtenet"}
    assert frame["energy_label"].null_count() > 0 and frame["energy_label"].n_unique() >= 8


def test_demo_files_are_deterministic(demo, tmp_path):
    population, paths, _ = demo
    again = write_municipal_files(tmp_path / "again", population)
    for kind, path in paths.items():
        assert again[kind].read_bytes() == path.read_bytes(), kind
    other = write_municipal_files(tmp_path / "other", demo_population(7))
    assert other["corporation_portfolio"].read_bytes() != paths["corporation_portfolio"].read_bytes()
