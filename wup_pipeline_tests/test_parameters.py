"""The shipped parameter tables: they load, they are complete and consistent, the loader rejects bad
values with file/line/field, and (with ../shared) they equal what derive.py makes from the sources."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openpyxl
import polars as pl
import pytest

import wup_pipeline.assets.parameters as parameter_assets
import wup_pipeline.parameters as parameters
from wup_pipeline.parameters import (
    CITATIONS,
    SCHEMAS,
    derive,
    load_citations,
    load_parameters,
    parameter_files,
    parameter_version,
    split_citations,
    table_files,
    write_tables,
)
from wup_pipeline.resources.errors import InputError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VESTA_FILE = SHARED_DATA / "vesta_kentallen" / "data" / "20241016_Woningen_BAG.csv"
SPREIDING_FILE = SHARED_DATA / "bag_testarea_denhaag" / "energielabel_spreiding_subset.xlsx"
PACKAGE_DIR = Path(parameters.__file__).resolve().parent
LABELS = ("A", "B", "C", "D", "E", "F", "G")


def test_every_parameter_file_loads_typed_with_its_sources():
    sizes = {"build_year_classes": 11, "dwelling_type_classes": 6, "heat_demand_dwellings": 6 * 11 * (8 * 2 + 2),
             "vesta_default_labels": 66, "label_distribution": 6 * 11 * 7}
    for name, rows in sizes.items():
        frame = load_parameters(name)
        assert frame.height == rows, name
        assert frame["source"].null_count() == 0 and frame["parameter_set"].null_count() == 0
    assert load_parameters("heat_demand_dwellings.csv")["value"].dtype == pl.Float64
    assert load_parameters("build_year_classes")["year_max"].dtype == pl.Int64
    assert set(SCHEMAS) | {"citations"} == {p.removesuffix(".csv") for p in parameter_files()}


def test_build_year_classes_are_contiguous_vesta_classes():
    classes = load_parameters("build_year_classes").sort("sort_order")
    assert classes["year_min"][0] is None and classes["year_max"][-1] is None
    for upper, lower in zip(classes["year_max"][:-1], classes["year_min"][1:], strict=True):
        assert upper + 1 == lower
    assert classes["build_year_class"].to_list()[3] == "1965 - 1974"


def test_label_shares_sum_to_one_per_type_and_build_year_class():
    sums = load_parameters("label_distribution").group_by("dwelling_type_class", "build_year_class").agg(
        pl.col("value").sum().alias("total"), pl.len().alias("labels"))
    assert sums.height == 66
    assert (sums["total"] - 1.0).abs().max() < 1e-9
    assert sums["labels"].unique().to_list() == [7]


def test_every_type_and_class_has_a_distribution_and_heat_rows_for_every_label():
    types = load_parameters("dwelling_type_classes")
    classes = load_parameters("build_year_classes")["build_year_class"]
    distribution = load_parameters("label_distribution")
    heat = load_parameters("heat_demand_dwellings")
    for type_class, vesta_type in types.select("dwelling_type_class", "vesta_type").iter_rows():
        for build_year_class in classes:
            shares = distribution.filter((pl.col("dwelling_type_class") == type_class)
                                         & (pl.col("build_year_class") == build_year_class))
            assert sorted(shares["label"]) == list(LABELS), (type_class, build_year_class)
            rows = heat.filter((pl.col("vesta_type") == vesta_type) & (pl.col("build_year_class") == build_year_class))
            for label in (*LABELS, "N"):
                names = rows.filter(pl.col("label") == label)["name"].sort().to_list()
                assert names == ["space_heating_fixed", "space_heating_per_m2"], (vesta_type, build_year_class, label)
            water = rows.filter(pl.col("label").is_null())["name"].sort().to_list()
            assert water == ["hot_water_fixed", "hot_water_per_m2"]


def test_heat_parameters_carry_vesta_units_and_pass_the_sanity_range():
    heat = load_parameters("heat_demand_dwellings")
    units = dict(heat.select("name", "unit").unique().iter_rows())
    assert units["space_heating_fixed"] == "GJ/yr per dwelling"
    assert units["space_heating_per_m2"] == "GJ/yr per m2 gebruiksoppervlakte"

    def value(vesta_type, build_year_class, label, name):
        return heat.filter((pl.col("vesta_type") == vesta_type) & (pl.col("build_year_class") == build_year_class)
                           & (pl.col("label") == label) & (pl.col("name") == name))["value"].item()

    # A 1970s terraced house of 110 m2 at label D needs roughly 30-45 GJ/yr for space heating.
    terraced = (value("rijwoning tussen", "1965 - 1974", "D", "space_heating_fixed")
                + 110 * value("rijwoning tussen", "1965 - 1974", "D", "space_heating_per_m2"))
    assert 30 <= terraced <= 45
    # Vesta 3.0 functional design (PBL 2017), table 4: a detached house of 1946-1964 needs 59 GJ/yr
    # before improvement; the 2024 no-label row gives the same for 150 m2.
    detached = (value("vrijstaand", "1946 - 1964", "N", "space_heating_fixed")
                + 150 * value("vrijstaand", "1946 - 1964", "N", "space_heating_per_m2"))
    assert 55 <= detached <= 63


def test_dwelling_type_classes_map_to_vesta_types_with_parameters():
    types = load_parameters("dwelling_type_classes")
    assert set(types["dwelling_type"]) == {"detached", "semi_detached", "corner", "terraced", "apartment"}
    assert set(types["vesta_type"]) == set(load_parameters("heat_demand_dwellings")["vesta_type"])


def _serve(monkeypatch, text: str) -> None:
    monkeypatch.setattr(parameters, "_read_bytes", lambda file_name: text.encode())


GOOD_HEADER = "parameter_set,dwelling_type_class,build_year_class,label,name,value,unit,low,high,method,source,note\n"
GOOD_ROW = "s,terraced,voor 1930,A,share,0.5,fraction,,,m,src,\n"


def test_loader_names_file_line_and_field_of_a_bad_number(monkeypatch):
    _serve(monkeypatch, GOOD_HEADER + GOOD_ROW + "s,terraced,voor 1930,B,share,half,fraction,,,m,src,\n")
    with pytest.raises(InputError) as error:
        load_parameters("label_distribution")
    assert error.value.file.endswith("label_distribution.csv")
    assert error.value.record == 3 and error.value.field == "value"
    assert "'half'" in str(error.value)


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ("s,terraced,voor 1930,B,share,1.5,fraction,,,m,src,\n", "value", "above the maximum"),
        ("s,terraced,voor 1930,X,share,0.5,fraction,,,m,src,\n", "label", "not one of"),
        ("s,terraced,voor 1930,B,share,0.5,fraction,,,m,,\n", "source", "required"),
        ("s,terraced,voor 1930,A,share,0.5,fraction,,,m,src,\n", "label", "duplicate"),
    ],
)
def test_loader_rejects_bad_rows(monkeypatch, row, field, problem):
    _serve(monkeypatch, GOOD_HEADER + GOOD_ROW + row)
    with pytest.raises(InputError) as error:
        load_parameters("label_distribution")
    assert (error.value.record, error.value.field) == (3, field)
    assert problem in str(error.value)


def test_loader_rejects_missing_columns_and_unknown_tables(monkeypatch):
    _serve(monkeypatch, GOOD_HEADER.replace(",method", "") + GOOD_ROW.replace(",m,", ","))
    with pytest.raises(InputError, match="column is missing") as error:
        load_parameters("label_distribution")
    assert error.value.field == "method"
    with pytest.raises(InputError, match="unknown parameter table"):
        load_parameters("no_such_table")


def test_parameter_version_is_a_sha256_over_the_files(monkeypatch):
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(PACKAGE_DIR.glob("*.csv"))}
    assert parameter_files() == files
    version = parameter_version()
    assert len(version) == 64 and version == parameter_version()
    changed = dict(files, **{"label_distribution.csv": "0" * 64})
    monkeypatch.setattr(parameters, "parameter_files", lambda: changed)
    assert parameter_version() != version


def _write_spreiding(path: Path, blocks: list[tuple[str, int, dict[str, float]]]) -> None:
    """An xlsx in the layout of RVO's spreiding sheet: title row, header, vormfactor bands, total."""
    book = openpyxl.Workbook()
    sheet = book.active
    header = ["vormfactor", None, "A++++", "A+++", "A++", "A+", "A", "B", "C", "D", "E", "F", "G", "TOTAAL"]
    row = 5
    for title, n, shares in blocks:
        sheet.cell(row, 2, title)
        sheet.cell(row, 15, f"{n} woningen in WoON2018")
        for j, value in enumerate(header, start=2):
            sheet.cell(row + 1, j, value)
        for band, (low, high) in enumerate([(1, 1.5), (1.5, 2)]):
            sheet.cell(row + 2 + band, 2, low)
            sheet.cell(row + 2 + band, 3, high)
            for j, label in enumerate(header[2:13], start=4):
                sheet.cell(row + 2 + band, j, shares.get(label, 0.0) / 2)
        row += 15
    book.save(path)


def test_label_distribution_rule_uses_woon_blocks_and_a_kernel_elsewhere(tmp_path):
    path = tmp_path / "spreiding.xlsx"
    _write_spreiding(path, [
        ("rijwoning hoek <1946", 100, {"C": 0.25, "D": 0.25, "E": 0.5}),
        ("rijwoning hoek >2014", 10, {"A+++": 0.2, "A": 0.7, "B": 0.1}),
    ])
    blocks = derive.read_woon_spreiding(path)
    assert [b.median_label for b in blocks] == ["D", "A"]
    assert blocks[1].shares["A"] == pytest.approx(0.9)
    defaults = pl.DataFrame([
        {"vesta_type": t, "build_year_class": c[0], "value": "G" if c[1] is None else "C"}
        for _, _, t, _ in derive.DWELLING_TYPE_CLASSES for c in derive.BUILD_YEAR_CLASSES
    ])
    table = derive.label_distribution_table(blocks, defaults)

    def shares(type_class, build_year_class):
        rows = table.filter((pl.col("dwelling_type_class") == type_class)
                            & (pl.col("build_year_class") == build_year_class))
        return dict(rows.select("label", "value").iter_rows()), rows["method"][0]

    corner_old, method = shares("corner", "voor 1930")
    assert method == "woon2018_block" and corner_old["E"] == pytest.approx(0.5)
    # Kernel before 1992: offsets from the median D were -1: 0.25, 0: 0.25, +1: 0.5; centred on G the
    # +1 mass stays on G.
    detached_old, method = shares("detached", "voor 1930")
    assert method.endswith("before_1992")
    assert (detached_old["F"], detached_old["G"]) == (pytest.approx(0.25), pytest.approx(0.75))
    terraced_new, method = shares("terraced", "2011 - 2014")
    assert method.endswith("from_1992")
    assert (terraced_new["C"], terraced_new["D"]) == (pytest.approx(0.9), pytest.approx(0.1))


def test_spreiding_reader_rejects_shares_that_do_not_add_up(tmp_path):
    path = tmp_path / "spreiding.xlsx"
    _write_spreiding(path, [("rijwoning hoek <1946", 84, {"C": 0.5, "D": 0.25})])
    with pytest.raises(InputError, match="add up to 0.75"):
        derive.read_woon_spreiding(path)


def test_vesta_reader_names_file_line_and_column_of_a_bad_number(tmp_path):
    columns = ["type_str", "bouwjaar_str", "Default_label"] + [
        f"Vrv_{label}_{part}" for label in (*LABELS, "N") for part in ("asl", "opp")] + ["Vww_asl", "Vww_opp"]
    rows = [";".join(columns), ";".join(["vrijstaand", "voor 1930", "F"] + ["1"] * (len(columns) - 3)),
            ";".join(["vrijstaand", "1930 - 1945", "F"] + ["1"] * 5 + ["n/a"] + ["1"] * (len(columns) - 9))]
    path = tmp_path / "Woningen_BAG.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        derive.read_woningen_bag(path)
    assert (error.value.record, error.value.field) == (3, "Vrv_C_opp")
    incomplete = pl.DataFrame({"type_str": ["vrijstaand"], "bouwjaar_str": ["voor 1930"], "Default_label": ["F"]})
    with pytest.raises(InputError, match="no row for"):
        derive.heat_demand_table(incomplete, path)


@pytest.mark.shared_data
def test_shipped_tables_equal_a_fresh_derivation_from_the_cited_files(tmp_path):
    if not (VESTA_FILE.is_file() and SPREIDING_FILE.is_file()):
        pytest.skip(f"../shared/data with the PBL/RVO source files is absent ({VESTA_FILE.parent})")
    written = derive.write_all(SHARED_DATA, tmp_path)
    # Every derived table is shipped as derived (energy_conversion.csv is written by hand, not derived).
    tables = [p for p in written if p.name != CITATIONS]
    assert {p.stem for p in tables} <= set(SCHEMAS) and len(tables) >= 5
    for path in tables:
        assert path.read_bytes() == (PACKAGE_DIR / path.name).read_bytes(), path.name
    # Its citations are the shipped ones of these tables (the cost tables' rows come from derive_costs).
    housing = [p.stem for p in tables]
    fresh = pl.read_csv(tmp_path / CITATIONS, infer_schema_length=0)
    shipped = pl.read_csv(PACKAGE_DIR / CITATIONS, infer_schema_length=0).filter(pl.col("table").is_in(housing))
    assert fresh.height > 0 and fresh.equals(shipped, null_equal=True)
    # The Vesta file's classes are exactly ours.
    vesta = pl.read_csv(VESTA_FILE, separator=";", infer_schema_length=0)
    assert set(vesta["bouwjaar_str"]) == set(load_parameters("build_year_classes")["build_year_class"])


def test_label_distribution_agrees_with_vestas_no_label_demand():
    """Cross-check of two parameter sources: the space-heating demand expected under our label shares
    stays within 15% of Vesta's own demand for dwellings without a label (its N row, calibrated on
    measured use), per type and class, at a typical floor area per type."""
    heat = load_parameters("heat_demand_dwellings").filter(pl.col("name").str.starts_with("space"))
    area = {"vrijstaand": 160, "2 onder 1 kap": 140, "rijwoning hoek": 120, "rijwoning tussen": 115,
            "meergezins: laag en midden": 75, "meergezins: hoog": 70}
    demand = (heat.pivot(on="name", index=["vesta_type", "build_year_class", "label"], values="value")
              .with_columns(gj=pl.col("space_heating_fixed")
                            + pl.col("space_heating_per_m2") * pl.col("vesta_type").replace_strict(area)))
    types = load_parameters("dwelling_type_classes").select("dwelling_type_class", "vesta_type")
    expected = (load_parameters("label_distribution").join(types, on="dwelling_type_class")
                .join(demand, on=["vesta_type", "build_year_class", "label"])
                .group_by("vesta_type", "build_year_class").agg((pl.col("value") * pl.col("gj")).sum().alias("gj")))
    ratio = expected.join(demand.filter(pl.col("label") == "N"), on=["vesta_type", "build_year_class"]).select(
        pl.col("gj") / pl.col("gj_right"))
    assert ratio.height == 66
    assert ratio.to_series().is_between(0.85, 1.15).all()


# --- citations: repeated source/note texts live once in citations.csv -----------------------------------

TWO_MIB = 2 * 1024 * 1024


def test_no_parameter_file_exceeds_two_mib():
    """The repository does not track files over 2 MiB; every file of the parameter package counts."""
    files = [p for p in PACKAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) >= len(SCHEMAS) + 1
    too_big = {p.name: p.stat().st_size for p in files if p.stat().st_size > TWO_MIB}
    assert too_big == {}


def test_every_citation_id_used_is_defined_and_every_defined_one_is_used():
    citations = load_citations()  # validated: unique ids, known tables, a source for every id
    assert citations.height > 0
    defined = {table: set(ids) for table, ids in citations.group_by("table").agg("citation_id").iter_rows()}
    for name, schema in SCHEMAS.items():
        header = pl.read_csv(PACKAGE_DIR / f"{name}.csv", n_rows=0).columns
        if schema.citation_prefix is None:
            assert {"source", "note"} <= set(header) and "citation_id" not in header, name
            assert name not in defined, name
            continue
        assert "citation_id" in header and not {"source", "note"} & set(header), name
        used = set(pl.read_csv(PACKAGE_DIR / f"{name}.csv", columns=["citation_id"])["citation_id"])
        assert used == defined.get(name), name
        assert all(i.startswith(f"{schema.citation_prefix}-") for i in used), name
    assert set(defined) == {name for name, schema in SCHEMAS.items() if schema.citation_prefix}


def _serve_files(monkeypatch, files: dict[str, bytes]) -> None:
    monkeypatch.setattr(parameters, "_read_bytes", lambda file_name: files[file_name])


def _stock(source: str = "Release notes, appendix A.2", note: str | None = None) -> pl.DataFrame:
    return pl.DataFrame({
        "parameter_set": "s", "sector": ["dwelling", "dwelling", "utility"],
        "building_type": ["vrijstaand", "rijwoning", "Kantoor"], "build_year_class": "voor 1930",
        "name": "national_stock", "value": [10.0, 20.5, 300.0], "unit": ["dwellings", "dwellings", "m2 floor area"],
        "source": ["Release notes, appendix A.1", "Release notes, appendix A.1", source],
        "note": ["", "share 0.5, of the period", note],
    })


def test_a_cited_table_loads_back_as_it_was_derived(tmp_path, monkeypatch):
    table = _stock()
    cited, citations = split_citations("costs_building_stock", table)
    assert cited.columns == [*table.columns[:-2], "citation_id"]
    assert citations.height == 3 and cited["citation_id"].n_unique() == 3
    write_tables({"costs_building_stock": table}, tmp_path)
    _serve_files(monkeypatch, {p.name: p.read_bytes() for p in tmp_path.iterdir()})
    loaded = load_parameters("costs_building_stock")
    assert loaded.columns == table.columns
    assert loaded.equals(table, null_equal=True)
    # An empty note and a missing one stay apart.
    assert loaded["note"].to_list() == ["", "share 0.5, of the period", None]


def test_writing_tables_replaces_only_their_own_citations(tmp_path):
    write_tables({"costs_building_stock": _stock("first edition")}, tmp_path)
    heat = pl.DataFrame({"parameter_set": "s", "vesta_type": "vrijstaand", "build_year_class": "voor 1930",
                         "label": "A", "name": "space_heating_fixed", "value": 1.5, "unit": "GJ/yr per dwelling",
                         "low": None, "high": None, "source": "Woningen_BAG.csv, column Vrv_A_asl", "note": "label A"})
    write_tables({"heat_demand_dwellings.csv": heat}, tmp_path)
    write_tables({"costs_building_stock": _stock("second edition")}, tmp_path)
    citations = pl.read_csv(tmp_path / CITATIONS, infer_schema_length=0)
    # Ordered by table as in SCHEMAS; the first edition's citation is gone, the heat table's stays.
    assert citations["table"].to_list() == ["heat_demand_dwellings"] + ["costs_building_stock"] * 3
    assert "first edition" not in citations["source"].to_list()
    assert "second edition" in citations["source"].to_list()
    before = (tmp_path / CITATIONS).read_bytes()
    write_tables({"costs_building_stock": _stock("second edition")}, tmp_path)
    assert (tmp_path / CITATIONS).read_bytes() == before


def test_citation_ids_follow_the_text_not_the_row_order():
    forward = split_citations("costs_building_stock", _stock())[1]
    backward = split_citations("costs_building_stock", _stock().reverse())[1]
    assert set(forward.select("source", "note", "citation_id").iter_rows()) == set(
        backward.select("source", "note", "citation_id").iter_rows())
    assert forward["citation_id"].to_list() != backward["citation_id"].to_list()  # first-use order differs
    changed = split_citations("costs_building_stock", _stock("another appendix"))[1]
    assert set(changed["citation_id"]) != set(forward["citation_id"])
    with pytest.raises(ValueError, match="does not cite by id"):
        split_citations("costs_general", _stock())


STOCK_HEADER = "parameter_set,sector,building_type,build_year_class,name,value,unit,citation_id\n"
STOCK_ROW = "s,dwelling,vrijstaand,voor 1930,national_stock,1.0,dwellings,bs-1\n"
CITATION_ROWS = ("table,citation_id,source,note\ncosts_building_stock,bs-1,RN2020 A.1,\n"
                 "heat_demand_dwellings,hd-1,Woningen_BAG,\n")


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ("s,dwelling,rijwoning,voor 1930,national_stock,1.0,dwellings,bs-2\n", "citation_id", "'bs-2' is not a"),
        # Another table's citation does not count.
        ("s,dwelling,rijwoning,voor 1930,national_stock,1.0,dwellings,hd-1\n", "citation_id", "'hd-1' is not a"),
        ("s,dwelling,rijwoning,voor 1930,national_stock,1.0,dwellings,\n", "citation_id", "required"),
        ("s,dwelling,rijwoning,voor 1930,national_stock,-1,dwellings,bs-1\n", "value", "below the minimum"),
    ],
)
def test_loader_names_the_line_of_a_bad_citation_id(monkeypatch, row, field, problem):
    _serve_files(monkeypatch, {"costs_building_stock.csv": (STOCK_HEADER + STOCK_ROW + row).encode(),
                               CITATIONS: CITATION_ROWS.encode()})
    with pytest.raises(InputError) as error:
        load_parameters("costs_building_stock")
    assert error.value.file.endswith("costs_building_stock.csv")
    assert (error.value.record, error.value.field) == (3, field)
    assert problem in str(error.value)


def test_loader_rejects_a_bad_citation_table_and_mixed_citing(monkeypatch):
    table = (STOCK_HEADER + STOCK_ROW).encode()
    _serve_files(monkeypatch, {"costs_building_stock.csv": table,
                               CITATIONS: (CITATION_ROWS + "costs_building_stock,bs-1,again,\n").encode()})
    with pytest.raises(InputError, match="duplicate") as error:
        load_parameters("costs_building_stock")
    assert error.value.file.endswith(CITATIONS) and (error.value.record, error.value.field) == (4, "citation_id")
    _serve_files(monkeypatch, {"costs_building_stock.csv": table,
                               CITATIONS: CITATION_ROWS.replace("RN2020 A.1", "").encode()})
    with pytest.raises(InputError, match="required") as error:
        load_parameters("costs_building_stock")
    assert (error.value.record, error.value.field) == (2, "source")
    _serve_files(monkeypatch, {"costs_building_stock.csv": STOCK_HEADER.replace("\n", ",source\n").encode()
                               + STOCK_ROW.replace("\n", ",src\n").encode(), CITATIONS: CITATION_ROWS.encode()})
    with pytest.raises(InputError, match="not both") as error:
        load_parameters("costs_building_stock")
    assert (error.value.record, error.value.field) == (1, "source")


def test_a_cited_tables_asset_version_follows_its_citations(monkeypatch):
    assert set(table_files("costs_building_kentallen")) == {"costs_building_kentallen.csv", CITATIONS}
    assert set(table_files("costs_general")) == {"costs_general.csv"}

    def code_version(name: str) -> str:
        return next(iter(parameter_assets.parameter_asset(name).code_versions_by_key.values()))

    general, kentallen = code_version("costs_general"), code_version("costs_building_kentallen")
    assert general == parameter_files()["costs_general.csv"][:16]
    files = table_files("costs_building_kentallen")
    monkeypatch.setattr(parameter_assets, "table_files", lambda name: dict(files, **{CITATIONS: "0" * 64}))
    assert code_version("costs_building_kentallen") != kentallen


COST_SOURCES = SHARED_DATA / "vesta_startanalyse2020"


@pytest.mark.shared_data
def test_both_derivations_rewrite_every_shipped_parameter_file_byte_for_byte(tmp_path):
    if not (VESTA_FILE.is_file() and SPREIDING_FILE.is_file() and COST_SOURCES.is_dir()):
        pytest.skip(f"../shared/data with the PBL/RVO source files is absent ({SHARED_DATA})")
    from wup_pipeline.parameters import derive_costs

    derived = derive.derive_all(SHARED_DATA)
    derive.write_all(SHARED_DATA, tmp_path)
    assert derive_costs.main([str(SHARED_DATA), str(tmp_path)]) == 0
    shipped = {p.name for p in PACKAGE_DIR.glob("*.csv")} - {"energy_conversion.csv"}  # written by hand
    assert {p.name for p in tmp_path.iterdir()} == shipped
    for name in shipped:
        assert (tmp_path / name).read_bytes() == (PACKAGE_DIR / name).read_bytes(), name
    # The loader joins the citation texts back: the loaded table is the derived one.
    for file_name, table in derived.items():
        loaded = load_parameters(file_name)
        assert loaded.select(table.columns).equals(table.cast(loaded.select(table.columns).schema), null_equal=True)
