"""Privacy rules, figure ids, audit.figures, De balans with and without route-cost tables, charts, priority score,
table hashes and the workbook writer, on small hand-made warehouses (no pipeline run)."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from wup_pipeline.lineage import trace
from wup_pipeline.reports import charts, excel, factscan_html, priorities, privacy

GM = "GM0001"


@pytest.fixture
def warehouse():
    """Three buurten of GM0001 (5, 50 and 400 dwellings) and one of another gemeente."""
    con = duckdb.connect()
    for schema in ("staging", "marts", "audit", "raw"):
        con.execute(f"create schema {schema}")
    con.execute("""create table staging.stg_pdok__buurten as select * from (values
        ('BU00010001', 'Klein', 'WK000100', 'GM0001', 'Een'), ('BU00010002', 'Midden', 'WK000100', 'GM0001', 'Een'),
        ('BU00010003', 'Groot', 'WK000100', 'GM0001', 'Een'), ('BU00020001', 'Elders', 'WK000200', 'GM0002', 'Twee'))
        v(buurt_code, buurt_name, wijk_code, gemeente_code, gemeente_name)""")
    con.execute("""create table marts.housing_stock_buurt as select * from (values
        ('BU00010001', 5, 2, 1, 2, 40.0), ('BU00010002', 50, 30, 4, 16, 35.0), ('BU00010003', 400, 200, 100, 100, 20.0),
        ('BU00020001', 80, 40, 20, 20, 10.0))
        v(buurt_code, dwellings, n_owner_occupied, n_private_rent, n_corporation, pct_label_efg)""")
    con.execute("""create table marts.factscan_buurt as select * from (values
        ('BU00010001', 'Klein', 5, 5), ('BU00010002', 'Midden', 50, 8), ('BU00010003', 'Groot', 410, 380),
        ('BU00020001', 'Elders', 80, 70)) v(buurt_code, buurt_name, dwellings, households)""")
    yield con
    con.close()


def add_route_tables(con) -> None:
    con.execute("""create table marts.route_costs_buurt as select * from (values
        ('BU00010002', 'all_electric', 120000.0, 900.0, 1.5, 310.0, 30.0, 410.0, 520.0),
        ('BU00010002', 'heat/network', 100000.0, 700.0, 2.5, 250.0, 25.0, 380.0, 300.0),
        ('BU00010003', 'all_electric', 800000.0, 850.0, 2.0, 300.0, 280.0, 390.0, 410.0),
        ('BU00010001', 'all_electric', 5000.0, 999.0, 9.9, 999.0, 1.0, 999.0, 999.0))
        v(buurt_code, strategy, national_cost_eur_per_year, national_extra_cost_eur_per_weq,
          co2_reduction_ton_per_year, national_extra_cost_eur_per_ton_co2, end_user_extra_cost_eur_per_dwelling_year,
          end_user_extra_cost_owner_occupier_eur_per_dwelling_year,
          end_user_extra_cost_private_tenant_eur_per_dwelling_year)""")
    con.execute("""create table marts.route_sensitivity_buurt as select * from (values
        ('BU00010003', 'all_electric', 'low', 700.0), ('BU00010003', 'all_electric', 'high', 1000.0))
        v(buurt_code, strategy, variant, national_extra_cost_eur_per_weq)""")


def build(con, **kwargs) -> int:
    rows, _ = trace.build_figures(con, gemeente_code=GM, policy=privacy.PrivacyPolicy(k=10), run_id="run-1",
                                  version="test", docs={}, outputs_for=lambda t, c: ["factscan_html"], **kwargs)
    return rows


def figures_of(con, buurt: str) -> dict:
    cursor = con.execute("select * from audit.figures where buurt_code = ?", [buurt])
    names = [d[0] for d in cursor.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


def test_suppression_verdicts_like_cbs(warehouse):
    privacy.create_suppression_table(warehouse, privacy.PrivacyPolicy(k=10), GM)
    verdicts = {r[0]: r[1:] for r in warehouse.execute(
        "select buurt_code, suppressed, reason from published_suppression order by 1").fetchall()}
    assert verdicts == {
        "BU00010001": (True, "minder dan 10 woningen"),
        "BU00010002": (True, "minder dan 10 huishoudens"),  # 50 dwellings but 8 households
        "BU00010003": (False, None),
    }  # BU00020001 belongs to another gemeente
    privacy.create_suppression_table(warehouse, privacy.PrivacyPolicy(k=5), GM)
    assert warehouse.execute("select count(*) filter (where suppressed) from published_suppression").fetchone() == (0,)


def test_published_select_blanks_small_buurten_and_small_owner_groups(warehouse):
    add_route_tables(warehouse)
    policy = privacy.PrivacyPolicy(k=10)
    privacy.create_suppression_table(warehouse, policy, GM)
    rows = warehouse.execute(privacy.published_select(warehouse, "marts.route_costs_buurt", policy, keep=("strategy",))
                             + " order by buurt_code, strategy").pl()
    big = rows.filter(pl.col("buurt_code") == "BU00010003").row(0, named=True)
    assert big["national_extra_cost_eur_per_weq"] == 850.0 and not big["privacy_suppressed"]
    assert big["end_user_extra_cost_private_tenant_eur_per_dwelling_year"] == 410.0  # 100 private-rent dwellings
    small = rows.filter(pl.col("buurt_code") == "BU00010001").row(0, named=True)
    assert small["privacy_suppressed"] and small["strategy"] == "all_electric"
    assert small["national_extra_cost_eur_per_weq"] is None and small["co2_reduction_ton_per_year"] is None
    assert set(rows["buurt_code"]) == {"BU00010001", "BU00010002", "BU00010003"}
    assert privacy.owner_type_of("end_user_extra_cost_corporation_tenant_eur_per_dwelling_year") == "corporation"
    assert privacy.owner_type_of("end_user_extra_cost_occupant_eur_per_dwelling_year") is None
    assert not privacy.is_owner_type_column("n_corporation") and not privacy.is_owner_type_column("pct_corporation")


def test_owner_type_rule_on_its_own(warehouse):
    """A buurt that is not suppressed, with only 4 private-rent dwellings: that group's averages are blank."""
    warehouse.execute("update marts.factscan_buurt set households = 45 where buurt_code = 'BU00010002'")
    add_route_tables(warehouse)
    build(warehouse)
    figures = figures_of(warehouse, "BU00010002")
    rent = figures["balans/BU00010002/all_electric/end_user_extra_cost_private_tenant_eur_per_dwelling_year"]
    owner = figures["balans/BU00010002/all_electric/end_user_extra_cost_owner_occupier_eur_per_dwelling_year"]
    assert rent["suppressed"] and rent["value_number"] is None
    assert rent["suppression_reason"] == "minder dan 10 woningen van deze eigenaarsgroep"
    assert not owner["suppressed"] and owner["value_number"] == 410.0


def test_figure_ids_keys_and_escaping(warehouse):
    add_route_tables(warehouse)
    build(warehouse)
    ids = set(figures_of(warehouse, "BU00010003"))
    assert "balans/BU00010003/all_electric/co2_reduction_ton_per_year" in ids
    assert "gevoeligheid/BU00010003/all_electric/low/national_extra_cost_eur_per_weq" in ids  # key detected
    assert "woningvoorraad/BU00010003/pct_label_efg" in ids and "factscan/BU00010003/households" in ids
    assert not any(i.startswith("factscan/BU00010003/buurt_name") for i in ids)  # identity is not a figure
    middle = set(figures_of(warehouse, "BU00010002"))
    assert "balans/BU00010002/heat%2Fnetwork/national_cost_eur_per_year" in middle
    assert trace.key_part("heat/network") == "heat%2Fnetwork"
    assert trace.parse_figure_id("balans/BU00010002/heat%2Fnetwork/co2") == (
        "balans", "BU00010002", ("heat%2Fnetwork",), "co2")
    with pytest.raises(trace.FigureError, match="not a figure id"):
        trace.parse_figure_id("balans//x")
    assert warehouse.execute("select count(*) from audit.figures where buurt_code = 'BU00020001'").fetchone() == (0,)


def test_figures_of_a_suppressed_buurt_are_blank_with_a_reason(warehouse):
    build(warehouse)
    small = figures_of(warehouse, "BU00010001")
    assert small and all(f["suppressed"] and f["value_text"] is None for f in small.values())
    assert {f["suppression_reason"] for f in small.values()} == {"minder dan 10 woningen"}
    big = figures_of(warehouse, "BU00010003")["woningvoorraad/BU00010003/dwellings"]
    assert big["value_number"] == 400 and big["value_text"] == "400" and big["output"] == ["factscan_html"]
    assert big["run_id"] == "run-1" and big["code_version"] == "test"


def page(con, buurt: str, present: dict) -> str:
    rows = con.execute("select * from audit.figures where buurt_code = ?", [buurt]).pl().to_dicts()
    tables, _ = trace.figure_tables(con)
    return factscan_html.render_buurt_page(factscan_html.BuurtPage(
        buurt_code=buurt, buurt_name="Groot", wijk_code="WK000100", gemeente_code=GM, gemeente_name="Een",
        figures=factscan_html.Figures(rows), suppression_reason=None,
        maps=factscan_html.MapData([[[(0, 0), (500, 0), (500, 400), (0, 400), (0, 0)]]]),
        columns={t.section: list(t.value_columns) for t in tables}, present=present, docs={}, sources=[],
        checks=[], policy=privacy.PrivacyPolicy(), run_id="run-1", code_version="test", generated_at="now"))


def test_de_balans_says_not_yet_computed_without_route_tables(warehouse):
    build(warehouse)
    html = page(warehouse, "BU00010003", {"balans": False, "gevoeligheid": False})
    assert 'id="balans-todo"' in html and "Nog niet berekend" in html
    assert "balans/BU00010003" not in html


def test_de_balans_renders_a_hand_made_route_table(warehouse):
    add_route_tables(warehouse)
    build(warehouse)
    html = page(warehouse, "BU00010003", {"balans": True, "gevoeligheid": True})
    assert "Nog niet berekend" not in html
    assert 'data-figure-id="balans/BU00010003/all_electric/national_extra_cost_eur_per_weq"' in html
    assert "Nationale meerkosten per woningequivalent" in html and "CO₂-reductie" in html and ">850<" in html
    assert "Betaalbaarheid per eigenaarstype" in html and "Meerkosten huurder bij particulier" in html
    assert 'data-figure-id="gevoeligheid/BU00010003/all_electric/high/national_extra_cost_eur_per_weq"' in html
    assert ">1\u2009000<" in html


def test_priority_score_by_hand():
    figures = pl.DataFrame({
        "figure_id": [f"x{i}" for i in range(6)],
        "buurt_code": ["A", "B", "C", "A", "B", "C"],
        "mart_table": ["marts.t"] * 3 + ["marts.u"] * 3,
        "column_name": ["cost"] * 3 + ["chance"] * 3,
        "value_number": [100.0, 200.0, 300.0, 1.0, None, 3.0],
        "suppressed": [False] * 6,
    })
    criteria = (
        priorities.Criterion("cost", "Kosten", "marts.t", "cost", -1, 3.0, ""),
        priorities.Criterion("chance", "Kans", "marts.u", "chance", +1, 1.0, ""),
    )
    scored = priorities.score(figures, ["A", "B", "C"], criteria)
    by = {(r["buurt_code"], r["criterion"]): r for r in scored.to_dicts()}
    assert by[("A", "cost")]["scaled"] == 1.0 and by[("C", "cost")]["scaled"] == 0.0
    assert by[("B", "chance")]["scaled"] is None
    assert by[("A", "cost")]["score"] == pytest.approx(100 * (3 * 1.0 + 1 * 0.0) / 4)
    assert by[("B", "cost")]["score"] == pytest.approx(50.0) and by[("B", "cost")]["n_criteria"] == 1  # renormalised
    assert by[("C", "cost")]["score"] == pytest.approx(25.0)
    assert [by[(b, "cost")]["rank"] for b in "ABC"] == [1, 2, 3]
    rows = priorities.score_figures(scored, criteria, {"C": "minder dan 10 woningen"})
    score_c = rows.filter(pl.col("figure_id") == "overzicht/C/score").row(0, named=True)
    assert score_c["value_number"] is None and score_c["suppressed"]
    score_a = rows.filter(pl.col("figure_id") == "overzicht/A/score").row(0, named=True)
    assert score_a["value_number"] == pytest.approx(75.0) and "weights cost 0.75, chance 0.25" in score_a["expression"]
    assert sorted(score_a["depends_on"]) == ["overzicht/A/chance/scaled", "overzicht/A/cost/scaled"]


def test_priority_weights_from_settings():
    criteria = priorities.criteria_with_weights({"participatie": 0.5})
    assert {c.name: c.weight for c in criteria}["participatie"] == 0.5
    with pytest.raises(ValueError, match="unknown criteria"):
        priorities.criteria_with_weights({"nonsense": 1})
    with pytest.raises(ValueError, match="0 or more"):
        priorities.criteria_with_weights({"participatie": -1})


def test_table_hash_is_order_independent_and_content_sensitive():
    con = duckdb.connect()
    con.execute("create table a as select * from (values (1, 'x', 1.5), (2, 'y', null), (3, 'z', 2.0)) v(i, s, d)")
    con.execute("create table b as select * from a order by i desc")
    con.execute("create table c as select * from a union all select * from a where i = 1")
    con.execute("create table d as select i, s, case when i = 3 then 2.0000001 else d end as d from a")
    hashes = {t: trace.table_content_hash(con, f"main.{t}").content_hash for t in "abcd"}
    assert hashes["a"] == hashes["b"]
    assert len({hashes["a"], hashes["c"], hashes["d"]}) == 3


def test_charts_escape_text_and_mark_figures():
    svg = charts.bar_chart([charts.Bar("<b>A&B</b>", 10.0, "10", "woningvoorraad/BU1/n", "bron"),
                            charts.Bar("leeg", None, "onderdrukt")], title="T")
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in svg and "<b>" not in svg
    assert 'data-figure-id="woningvoorraad/BU1/n"' in svg and "onderdrukt" in svg
    square = [[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0), (0.0, 0.0)]]
    map_svg = charts.area_map(title="Kaart", focus=[charts.Area("BU1", [square])],
                              cells=[charts.Cell(0, 0, 50, "#ff0000", "vak", "kaart/BU1/E0000N0000/dwellings"),
                                     charts.Cell(50, 0, 50, charts.NO_DATA, "vak", None, hatched=True)],
                              dots=[charts.Dot(10, 10, "#00ff00")], legend=[charts.LegendItem("#ff0000", "rood")])
    assert map_svg.count("<rect class=\"cell\"") == 2 and "url(#hatch-kaart)" in map_svg and "<circle" in map_svg
    assert "http" not in map_svg
    assert charts.class_colour(None) == charts.NO_DATA and charts.class_colour(100.0) == charts.SEQUENTIAL_RED[-1]
    assert charts.class_colour(0.0) == charts.SEQUENTIAL_RED[0]
    assert factscan_html.cell_origin("E1536N4552") == (153600.0, 455200.0)
    assert factscan_html.cell_key(153650.0, 455299.0) == "E1536N4552"
    assert factscan_html.format_number(1234567.891, 1) == "1\u2009234\u2009567,9"


def test_workbook_round_trip(tmp_path):
    from openpyxl import load_workbook

    path = excel.write_workbook(tmp_path / "w.xlsx", about=[("Gemeente", GM)], sheets=[
        excel.Sheet("t", "marts.t", [("buurt_code", "VARCHAR"), ("n", "BIGINT")], [("BU1", 3), ("BU2", None)],
                    "sectie/{buurt_code}/{column}")],
        docs={("marts.t", "n"): ("Aantal.", "woningen")})
    book = load_workbook(path)
    assert book.sheetnames == ["Toelichting", "t", "Kolommen"]
    assert list(book["t"].iter_rows(values_only=True)) == [("buurt_code", "n"), ("BU1", 3), ("BU2", None)]
    docs = list(book["Kolommen"].iter_rows(values_only=True))
    assert docs[2] == ("t", "n", "Aantal.", "woningen", "BIGINT", "marts.t", "sectie/{buurt_code}/n")
    with pytest.raises(ValueError, match="31"):
        excel.write_workbook(tmp_path / "x.xlsx", about=[], sheets=[excel.Sheet("x" * 32, "t", [], [])], docs={})


def test_page_of_a_suppressed_buurt_without_name_or_route_names_renders(warehouse):
    # The 10 % run once failed here with "'dict object' has no attribute 'name'" (keyed_table in the template):
    # the edge cases of the data (a suppressed buurt that has route rows, routes without route_name, a buurt
    # without a name) must all render.
    add_route_tables(warehouse)
    build(warehouse)
    rows = warehouse.execute("select * from audit.figures where buurt_code = 'BU00010001'").pl().to_dicts()
    tables, _ = trace.figure_tables(warehouse)
    html = factscan_html.render_buurt_page(factscan_html.BuurtPage(
        buurt_code="BU00010001", buurt_name=None, wijk_code=None, gemeente_code=GM, gemeente_name="Een",
        figures=factscan_html.Figures(rows), suppression_reason="minder dan 10 woningen",
        maps=factscan_html.MapData([]), columns={t.section: list(t.value_columns) for t in tables},
        present={"balans": True, "gevoeligheid": True}, docs={}, sources=[], checks=[],
        policy=privacy.PrivacyPolicy(), run_id="run-1", code_version="test", generated_at="now"))
    assert 'data-figure-id="balans/BU00010001/all_electric/national_extra_cost_eur_per_weq"' in html
    assert ">onderdrukt<" in html and ">999<" not in html  # the suppressed route row shows no values


def test_templates_are_compiled_once_per_process():
    # one environment (and compiled template) for all pages of a run; no reloading from disk half-way a run
    environment = factscan_html._environment()
    assert factscan_html._environment() is environment and environment.auto_reload is False
    assert environment.get_template("factscan_buurt.html") is environment.get_template("factscan_buurt.html")


def _canonical_parts(path) -> dict[str, str]:
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: ET.canonicalize(archive.read(name).decode("utf-8")) for name in archive.namelist()
                if not name.startswith("docProps/")}  # docProps holds the creation time


def test_workbook_rows_written_directly_are_what_openpyxl_writes(tmp_path, monkeypatch):
    rows = [(1, " x&<y> ", 1.5), (None, "", None), (True, "a\nb", 1e-300), (2.5, None, 12345678901234567890),
            (None, None, None), (False, "  ", -0.0), (3, "é “q” #N/A", 0.1 + 0.2), (-7, "=not first", None)]
    sheets = [excel.Sheet("plain", "marts.t", [("a", "BIGINT"), ("b", "VARCHAR"), ("c", "DOUBLE")], rows,
                          "sectie/{buurt_code}/{column}"),
              excel.Sheet("leeg", "marts.u", [("a", "BIGINT")], [])]
    fast = excel.write_workbook(tmp_path / "fast.xlsx", about=[("Gemeente", GM)], sheets=sheets, docs={})
    monkeypatch.setattr(excel, "_is_plain", lambda value: False)  # every cell through openpyxl
    slow = excel.write_workbook(tmp_path / "slow.xlsx", about=[("Gemeente", GM)], sheets=sheets, docs={})
    assert _canonical_parts(fast) == _canonical_parts(slow)


def test_workbook_values_openpyxl_treats_specially_take_its_path(tmp_path):
    import datetime as dt

    from openpyxl import load_workbook

    assert not excel._is_plain("=SUM(A1)") and not excel._is_plain("#N/A") and not excel._is_plain(float("nan"))
    assert not excel._is_plain(dt.date(2024, 1, 2)) and not excel._is_plain("bel\x07")
    assert excel._is_plain("=") and excel._is_plain("tekst") and excel._is_plain(3) and excel._is_plain(None)
    path = excel.write_workbook(tmp_path / "w.xlsx", about=[], sheets=[
        excel.Sheet("datums", "marts.d", [("d", "DATE"), ("n", "BIGINT")], [(dt.date(2024, 1, 2), 1)]),
        excel.Sheet("getallen", "marts.g", [("n", "BIGINT")], [(i,) for i in range(5000)])], docs={})
    book = load_workbook(path)
    assert list(book["datums"].iter_rows(values_only=True)) == [("d", "n"), (dt.datetime(2024, 1, 2), 1)]
    assert [r[0] for r in book["getallen"].iter_rows(min_row=2, values_only=True)] == list(range(5000))
    assert book["getallen"]["A1"].font.bold  # the header keeps openpyxl's style
    import zipfile

    with zipfile.ZipFile(path) as archive:  # the rewritten sheets are compressed like the others
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.xlsx"]  # no temporary files left


def test_json_members_give_the_bytes_of_one_json_dump(tmp_path):
    import json

    base = {"column_lineage": [{"table": "marts.t", "expression": "a <- \"b\"\nc", "n": 1.5}], "empty": [],
            "nested": {"z": {}, "a": [[1, 2], {"é": None}]}, "files": [], "figure_ids": []}
    page = {"files": ["p/BU1.html"], "figure_ids": ["x/BU1/n"], "figure_values": {"x/BU1/n": "3"}}
    trace.write_json_members(tmp_path / "m.json", {**trace.json_members(base), **trace.json_members(page)})
    expected = json.dumps({**base, **page}, indent=1, sort_keys=True, default=str, ensure_ascii=False) + "\n"
    assert (tmp_path / "m.json").read_text(encoding="utf-8") == expected
    trace.write_json(tmp_path / "e.json", {})
    assert (tmp_path / "e.json").read_text(encoding="utf-8") == "{}\n"
