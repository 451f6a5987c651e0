"""Outputs people read, the audit tables behind them, and publishing the warehouse once everything succeeded.

Per gemeente (``<outputs_dir>/<gemeente_code>/``):
  factscan/<buurt>.html, factscan/index.html   one page per buurt and the overview (factscan_html)
  factscan_<gemeente>.xlsx                      one sheet per mart table, column documentation (factscan_excel)
  factscan_<gemeente>.gpkg                      buurten with indicators, dwellings when allowed (factscan_geopackage)
  parquet/<mart>.parquet                        the marts (marts_parquet)
  lineage_manifest.json                         everything above with its lineage (lineage_manifest)
and ``<file>.lineage.json`` next to every output file. All outputs apply the privacy rules (reports/privacy.py)
and show the values of ``audit.figures``, which also records each figure's lineage; ``audit.table_hashes`` holds
a content hash per mart table per run. docs/outputs.md and docs/audit-trail.md describe them.
"""


import hashlib
import os
import tempfile
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.lineage import trace
from wup_pipeline.reports import excel, geopackage, map_cells, priorities, privacy
from wup_pipeline.reports import factscan_html as html_report
from wup_pipeline.reports.charts import polygons_from_wkb
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.settings import sql_models_dir
from wup_pipeline.resources.snapshots import utc_now
from wup_pipeline.resources.warehouse import Warehouse

FACTSCAN_MART = dg.AssetKey(["marts", "factscan_buurt"])
# The marts the outputs read and export. A key not (yet) defined (the route costs) is an external asset to Dagster,
# harmless; a new mart must be added here so the outputs wait for it (outputs export every table in marts.*).
MART_TABLES = ("factscan_buurt", "housing_stock_buurt", "socio_economic_buurt", "energy_use_buurt",
               "infrastructure_buurt", "initiatives_buurt", "participation_buurt", "monitoring_buurt",
               "route_costs_buurt", "route_sensitivity_buurt", "route_costs_dwelling_group")
MART_KEYS = [dg.AssetKey(["marts", name]) for name in MART_TABLES]
MAP_INPUTS = [dg.AssetKey(["intermediate", "int_dwellings"]), dg.AssetKey(["staging", "stg_bag__verblijfsobjecten"]),
              dg.AssetKey(["staging", "stg_pdok__buurten"])]
FIGURES = dg.AssetKey(["audit", "figures"])
TABLE_HASHES = dg.AssetKey(["audit", "table_hashes"])
HTML, EXCEL, GPKG, PARQUET = "factscan_html", "factscan_excel", "factscan_geopackage", "marts_parquet"


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
        tmp.write(text)
    os.chmod(tmp.name, 0o644)  # published files: readable like any other output (tempfile makes them 0600)
    os.replace(tmp.name, path)


def gemeente_dir(settings: PipelineSettings) -> Path:
    return Path(settings.outputs_dir) / settings.gemeente_code


def output_locations(outputs_dir: str | Path, gemeente_code: str) -> dict[str, Path]:
    """Where the outputs of a gemeente are written (for `wup demo` / `wup run` to print)."""
    root = Path(outputs_dir) / gemeente_code
    return {"factscan": root / "factscan" / "index.html", "workbook": root / f"factscan_{gemeente_code}.xlsx",
            "geopackage": root / f"factscan_{gemeente_code}.gpkg", "parquet": root / "parquet",
            "lineage": root / "lineage_manifest.json"}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The cost marts are built in Python without a .yml; their columns as docs/cost-model.md (sections 3 and 9)
# describes them, for the workbook's column sheet.
_CHEAPEST = {
    "cheapest_route": ("Route with the lowest national cost in the buurt (the reference excluded).", "route code"),
    "runner_up_route": ("The second-cheapest route.", "route code"),
    "margin_eur_per_year": ("National cost of the runner-up minus that of the cheapest route.", "EUR/yr"),
    "margin_eur_per_weq": ("The same per woningequivalent.", "EUR/yr per WEQ"),
    "cheapest_national_extra_cost_eur_per_weq": ("National extra cost of the cheapest route (H18).",
                                                 "EUR/yr per WEQ"),
}
COST_MART_DOCS: dict[tuple[str, str], tuple[str, str]] = {
    **{("marts.route_costs_buurt", c): d for c, d in _CHEAPEST.items()},
    **{(t, "buurt_code"): ("CBS buurt code.", "code") for t in ("marts.route_costs_buurt",
                                                                "marts.route_sensitivity_buurt",
                                                                "marts.route_costs_dwelling_group")},
    ("marts.route_sensitivity_buurt", "scenario"): ("Sensitivity scenario: low/high energy prices, low/high "
                                                    "investment costs (the parameters' low and high columns).",
                                                    "category"),
    **{("marts.route_sensitivity_buurt", c): d for c, d in _CHEAPEST.items()},
    ("marts.route_sensitivity_buurt", "central_cheapest_route"): ("Cheapest route with the central parameters.",
                                                                  "route code"),
    ("marts.route_sensitivity_buurt", "same_as_central"): ("The scenario's cheapest route is the central one.",
                                                           "boolean"),
    ("marts.route_costs_dwelling_group", "dwelling_type_class"): ("Dwelling type class of the group.", "category"),
    ("marts.route_costs_dwelling_group", "build_year_class"): ("Vesta build-year class of the group.", "category"),
    ("marts.route_costs_dwelling_group", "energy_label_class"): ("Label class A..G (registered or estimated).",
                                                                 "label"),
    ("marts.route_costs_dwelling_group", "owner_type"): ("owner_occupied, private_rent or corporation.", "category"),
    ("marts.route_costs_dwelling_group", "dwellings"): ("Dwellings in the group (values blank below k).",
                                                        "dwellings"),
    ("marts.route_costs_dwelling_group", "strategy"): ("Route code (reference, S1a .. S4d).", "route code"),
    ("marts.route_costs_dwelling_group", "end_user_investment_eur_per_dwelling"): (
        "End-user investment incl. VAT, after subsidy.", "EUR per dwelling"),
    ("marts.route_costs_dwelling_group", "end_user_energy_cost_eur_per_dwelling_year"): (
        "End-user energy cost incl. taxes and VAT.", "EUR/yr per dwelling"),
    ("marts.route_costs_dwelling_group", "end_user_extra_cost_owner_eur_per_dwelling_year"): (
        "Extra cost for the owner-occupier, or the landlord after the rent change.", "EUR/yr per dwelling"),
    ("marts.route_costs_dwelling_group", "end_user_extra_cost_occupant_eur_per_dwelling_year"): (
        "Extra cost for the occupant (tenant; the owner's for owner-occupiers).", "EUR/yr per dwelling"),
    ("marts.route_costs_dwelling_group", "national_extra_cost_buildings_eur_per_dwelling_year"): (
        "Building-level national extra costs (grids and heat networks exist only per buurt).",
        "EUR/yr per dwelling"),
    ("marts.route_costs_dwelling_group", "space_heating_demand_gj_per_dwelling"): (
        "Space-heating demand after the route's shell step.", "GJ/yr per dwelling"),
    ("marts.route_costs_dwelling_group", "share_insulated"): ("Share of the group insulated by the route.",
                                                              "fraction"),
}


def column_documentation(models_dir: Path) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(table, column) -> (description, unit): the SQL models' .yml files, and the cost model's output units
    (docs/cost-model.md, section 9) for the marts it builds in Python."""
    docs = {**COST_MART_DOCS, **trace.column_docs(models_dir)}
    try:
        from wup_pipeline.model.costs import OUTPUT_COLUMNS
    except ImportError:  # the cost model is optional for the outputs
        OUTPUT_COLUMNS = {}  # noqa: N806
    for column, unit in OUTPUT_COLUMNS.items():
        docs.setdefault(("marts.route_costs_buurt", column),
                        (f"Cost model output {column}; meaning in docs/cost-model.md, section 9.", unit))
    return docs


def outputs_for(table: str, column: str) -> list[str]:
    """Which outputs show a mart column (every mart column is in the workbook and the Parquet files)."""
    section = trace.section_of(table)
    shown = [EXCEL, PARQUET]
    if html_report.shown_on_page(section, column):
        shown.insert(0, HTML)
    if any(c.section == section and c.column == column for c in geopackage.BUURT_COLUMNS):
        shown.append(GPKG)
    return shown


def derived_figures(con: duckdb.DuckDBPyConnection, policy: privacy.PrivacyPolicy,
                    criteria: tuple[priorities.Criterion, ...]) -> pl.DataFrame:
    """The report layer's figures: the overview's priority score and the map squares."""
    staged = con.execute(f"select figure_id, buurt_code, figure_key, mart_table, column_name, value_number, suppressed "
                         f"from {trace.STAGED_FIGURES}").pl()
    verdicts = con.execute(f"select buurt_code, suppressed, reason from {privacy.SUPPRESSION_TABLE} "
                           "order by buurt_code").fetchall()
    scored = priorities.score(staged, [b for b, _, _ in verdicts], criteria)
    scores = priorities.score_figures(scored, criteria, {b: reason for b, hidden, reason in verdicts if hidden})
    cells = map_cells.cell_figures(con, policy)
    return pl.concat([scores, cells.select(list(priorities.FIGURE_SCHEMA)).cast(priorities.FIGURE_SCHEMA)]) \
        if cells.height else scores


def _criteria(settings: PipelineSettings) -> tuple[priorities.Criterion, ...]:
    try:
        return priorities.criteria_with_weights(getattr(settings, "priority_weights", None))
    except ValueError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc


def _policy(settings: PipelineSettings) -> privacy.PrivacyPolicy:
    try:
        return privacy.policy_from_settings(settings)
    except ValueError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _run_version(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """The code version recorded with this run's figures (the same string in every output of the run)."""
    row = con.execute("select any_value(code_version) from audit.figures where run_id = ?", [run_id]).fetchone() \
        if privacy.table_exists(con, "audit.figures") else None
    return row[0] if row and row[0] else trace.code_version(con)


def _manifest(con, *, output: str, files: list[Path], run_id: str, version: str, policy, figure_ids=None,
              columns=None) -> dict:
    if columns is None:
        columns = [lc for (lcs,) in con.execute(
            "select distinct lineage_columns from audit.figures where list_contains(output, ?)", [output]
        ).fetchall() for lc in lcs]
    return trace.lineage_manifest(con, output=output, files=[str(f) for f in files], columns=columns, run_id=run_id,
                                  version=version, privacy_policy=policy, figure_ids=figure_ids)


# ---------------------------------------------------------------------------------------------------------------
# audit tables


@dg.asset(
    key=["audit", "table_hashes"],
    deps=MART_KEYS,
    group_name="outputs",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="A content hash per mart table per run (order-independent over the rows): the same snapshots and "
    "parameters must give the same hashes.",
    metadata={"dagster/table_name": "audit.table_hashes"},
)
def table_hashes(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        hashes = trace.write_table_hashes(con, ("marts",), context.run_id, trace.code_version(con))
    context.log.info(f"content hashes of {len(hashes)} mart tables")
    return dg.MaterializeResult(metadata={
        "hashes": dg.MetadataValue.json({h.table_name: h.content_hash[:16] for h in hashes}),
        "dagster/row_count": len(hashes)})


def build_audit_figures(con: duckdb.DuckDBPyConnection, run_id: str, settings: PipelineSettings,
                        policy: privacy.PrivacyPolicy) -> tuple[int, list[str]]:
    criteria = _criteria(settings)
    return trace.build_figures(
        con, gemeente_code=settings.gemeente_code, policy=policy, run_id=run_id, version=trace.code_version(con),
        docs=column_documentation(sql_models_dir()), outputs_for=outputs_for,
        derive=lambda c: derived_figures(c, policy, criteria))


def ensure_figures(con: duckdb.DuckDBPyConnection, context: dg.AssetExecutionContext, settings: PipelineSettings,
                   policy: privacy.PrivacyPolicy) -> None:
    """The outputs show audit.figures of their own run; a job without the figures asset builds them here."""
    if privacy.table_exists(con, "audit.figures") and con.execute(
            "select count(*) from audit.figures where run_id = ?", [context.run_id]).fetchone()[0]:
        return
    context.log.warning("audit.figures was not materialized in this run (is outputs.ASSETS in the Definitions?); "
                        "building it here")
    build_audit_figures(con, context.run_id, settings, policy)


@dg.asset(
    key=["audit", "figures"],
    deps=[*MART_KEYS, *MAP_INPUTS],
    group_name="outputs",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="One row per published figure (stable figure id, value after the privacy rules, outputs that show "
    "it, mart table and column, lineage start, joins, raw tables reached, source note, run and code version). "
    "`wup trace <figure-id>` walks from here.",
    metadata={"dagster/table_name": "audit.figures"},
)
def figures(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
            ) -> dg.MaterializeResult:
    policy = _policy(settings)
    with warehouse.connect() as con:
        rows, warnings = build_audit_figures(con, context.run_id, settings, policy)
        counts = con.execute("select section, count(*), count(*) filter (where suppressed) from audit.figures "
                             "group by 1 order by 1").fetchall()
    for warning in warnings:
        context.log.warning(warning)
    context.log.info(f"audit.figures: {rows} figures of {settings.gemeente_code} (k={policy.k})")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "per_section": dg.MetadataValue.json({s: {"figures": n, "suppressed": m} for s, n, m in counts}),
        "warnings": dg.MetadataValue.json(warnings)})


# ---------------------------------------------------------------------------------------------------------------
# HTML


def _sources(con: duckdb.DuckDBPyConnection) -> list[dict]:
    if not privacy.table_exists(con, "audit.snapshots"):
        return []
    return _rows(con, "select source_id, dataset, min(left(retrieved_at, 10)) as retrieved_at, "
                      "any_value(source_version) as source_version, any_value(licence) as licence, "
                      "min(sha256) as sha256 from audit.snapshots group by source_id, dataset "
                      "order by source_id, dataset")


def _checks(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    if not privacy.table_exists(con, "audit.check_results"):
        return []
    tables = [t for (t,) in con.execute("select distinct table_name from audit.check_results order by 1").fetchall()]
    return trace.check_summary(con, tables, run_id)


@dg.asset(
    key=["outputs", "factscan_html"],
    deps=[FIGURES, *MART_KEYS, *MAP_INPUTS],
    group_name="outputs",
    kinds={"html"},
    pool=WAREHOUSE_POOL,
    description="One self-contained factscan page per buurt (Verkenning, Koppelkansen, De balans, Participatie, "
    "Bronnen en kwaliteit; inline SVG charts and maps) and the gemeente overview with the priority score.",
)
def factscan_html(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    policy, criteria = _policy(settings), _criteria(settings)
    out_dir = output_locations(settings.outputs_dir, settings.gemeente_code)["factscan"].parent
    generated_at = utc_now()
    docs = column_documentation(sql_models_dir())
    with warehouse.connect() as con:
        ensure_figures(con, context, settings, policy)
        privacy.create_suppression_table(con, policy, settings.gemeente_code)
        version = _run_version(con, context.run_id)
        # only what the pages show: the list columns (lineage, joins, sources) are in the manifests, and turning
        # them into Python lists for every figure took longer than rendering the pages
        figure_rows = con.execute(
            "select f.figure_id, f.section, f.buurt_code, f.figure_key, f.value_number, f.value_text, f.unit, "
            "f.suppressed, f.suppression_reason, f.source_note, f.expression "
            "from audit.figures f join published_suppression s using (buurt_code) "
            "where list_contains(f.output, ?) order by f.figure_id", [HTML]).pl()
        buurten = _rows(con, """
            select b.buurt_code, b.buurt_name, b.wijk_code, b.gemeente_code, b.gemeente_name,
                   st_aswkb(b.geometry) as wkb, st_x(st_pointonsurface(b.geometry)) as label_x,
                   st_y(st_pointonsurface(b.geometry)) as label_y, s.reason, s.suppressed
            from staging.stg_pdok__buurten b join published_suppression s using (buurt_code)
            order by b.buurt_code""")
        neighbours = con.execute("""
            select a.buurt_code, b.buurt_code from staging.stg_pdok__buurten a
            join staging.stg_pdok__buurten b on a.buurt_code <> b.buurt_code
                and st_intersects(st_buffer(st_envelope(a.geometry), 150), b.geometry)
            where a.gemeente_code = ? and b.gemeente_code = ?""",
                                 [settings.gemeente_code, settings.gemeente_code]).fetchall()
        dots: dict[str, list] = {}
        if policy.publish_address_level:
            for r in con.execute(privacy.ADDRESS_LEVEL_SQL, {"gemeente": settings.gemeente_code}).fetchall():
                dots.setdefault(r[12], []).append((r[13], r[14], r[10]))
        tables, _ = trace.figure_tables(con)
        present = {s: privacy.table_exists(con, t) for s, t in
                   (("balans", "marts.route_costs_buurt"), ("gevoeligheid", "marts.route_sensitivity_buurt"))}
        available = {c.name: privacy.table_exists(con, c.table) for c in criteria}
        sources, checks = _sources(con), _checks(con, context.run_id)
        manifest_base = _manifest(con, output=HTML, files=[], run_id=context.run_id, version=version, policy=policy)
    columns = {t.section: list(t.value_columns) for t in tables}
    section_docs = {t.section: {c: docs[(t.table, c)] for c in t.value_columns if (t.table, c) in docs}
                    for t in tables}
    polygons = {b["buurt_code"]: polygons_from_wkb(b["wkb"]) for b in buurten}
    names = {b["buurt_code"]: b["buurt_name"] for b in buurten}
    near: dict[str, list[str]] = {}
    for a, b in neighbours:
        near.setdefault(a, []).append(b)
    by_buurt = {code: frame.to_dicts() for (code,), frame in figure_rows.group_by("buurt_code")}
    base_members = trace.json_members(manifest_base)  # shared by every page's manifest: encoded once
    written = []
    for b in buurten:
        code = b["buurt_code"]
        figures_of_buurt = html_report.Figures(by_buurt.get(code, []))
        page = html_report.BuurtPage(
            buurt_code=code, buurt_name=b["buurt_name"], wijk_code=b["wijk_code"], gemeente_code=b["gemeente_code"],
            gemeente_name=b["gemeente_name"], figures=figures_of_buurt, suppression_reason=b["reason"],
            maps=html_report.MapData(polygons[code], [(n, names[n], polygons[n]) for n in sorted(near.get(code, []))],
                                       dots.get(code, [])),
            columns=columns, present=present, docs=section_docs, sources=sources, checks=checks, policy=policy,
            run_id=context.run_id, code_version=version, generated_at=generated_at)
        path = out_dir / f"{code}.html"
        write_text_atomic(path, html_report.render_buurt_page(page))
        trace.write_json_members(path.with_name(path.name + ".lineage.json"), {**base_members, **trace.json_members(
            {"files": [str(path)], "figure_ids": sorted(figures_of_buurt.by_id),
             "figure_values": {fid: f.value_text for fid, f in sorted(figures_of_buurt.by_id.items())}})})
        written.append(path)
    index = index_page(settings, criteria, buurten, polygons, by_buurt, sources, policy, context.run_id, version,
                       generated_at, available)
    index_path = out_dir / "index.html"
    write_text_atomic(index_path, html_report.render_index_page(index))
    trace.write_json_members(index_path.with_name("index.html.lineage.json"), {**base_members, **trace.json_members({
        "files": [str(index_path)], "figure_ids": sorted(r["figure_id"] for rows in by_buurt.values() for r in rows
                                                         if r["section"] == "overzicht")})})
    context.log.info(f"factscan pages for {len(written)} buurten in {out_dir}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(index_path)), "pages": len(written),
        "figures_shown": figure_rows.height, "suppressed_buurten": sum(1 for b in buurten if b["suppressed"])})


def index_page(settings, criteria, buurten, polygons, by_buurt, sources, policy, run_id, version, generated_at,
               available) -> html_report.IndexPage:
    total_weight = sum(c.weight for c in criteria) or 1.0
    ranking, areas = [], []
    for b in buurten:
        code = b["buurt_code"]
        f = html_report.Figures(by_buurt.get(code, []))
        score, rank = f.get("overzicht", code, "score"), f.get("overzicht", code, "rank")
        n_criteria = f.get("overzicht", code, "n_criteria")
        rank_value = int(rank.value_number) if rank and rank.value_number is not None else None
        ranking.append({
            "code": code, "name": b["buurt_name"], "dwellings": f.get("woningvoorraad", code, "dwellings"),
            "score": score, "rank": rank_value,
            "n_criteria": int(n_criteria.value_number) if n_criteria and n_criteria.value_number is not None else 0,
            "criteria": {c.name: {"figure": f.get("overzicht", code, "value", c.name),
                                  "scaled": getattr(f.get("overzicht", code, "scaled", c.name), "value_number", None)}
                         for c in criteria}})
        areas.append({"code": code, "name": b["buurt_name"], "polygons": polygons[code], "score": score,
                      "rank": rank_value, "label_point": (b["label_x"], b["label_y"])})
    ranking.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    gm = settings.gemeente_code
    return html_report.IndexPage(
        gemeente_code=gm, gemeente_name=buurten[0]["gemeente_name"] if buurten else gm, ranking=ranking,
        criteria=[{"name": c.name, "label": c.label, "short": c.short or c.label, "source": f"{c.table}.{c.column}"
                   + (f" / {c.denominator}" if c.denominator else ""), "direction": c.direction,
                   "weight": c.weight / total_weight, "explanation": c.explanation, "available": available[c.name],
                   "decimals": 2 if c.name == "participatie" else 0 if c.aggregate != "first" else 1}
                  for c in criteria],
        map_areas=areas,
        links={"Werkboek (Excel)": f"../factscan_{gm}.xlsx", "GeoPackage voor QGIS": f"../factscan_{gm}.gpkg",
               "Parquet-bestanden van de marts": "../parquet/", "Herkomst (lineage manifest, JSON)":
               "../lineage_manifest.json"},
        sources=sources, policy=policy, run_id=run_id, code_version=version, generated_at=generated_at)


# ---------------------------------------------------------------------------------------------------------------
# Excel, GeoPackage, Parquet


def _mart_tables(con: duckdb.DuckDBPyConnection, context: dg.AssetExecutionContext) -> list[str]:
    tables = [f"marts.{t}" for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
    unexpected = [t for t in tables if t.split(".")[1] not in MART_TABLES]
    if unexpected:
        context.log.warning(f"{unexpected} are exported but not in outputs.MART_TABLES: the outputs do not wait "
                            "for them in a run; add them there")
    return tables


@dg.asset(
    key=["outputs", "factscan_excel"],
    deps=[FIGURES, *MART_KEYS],
    group_name="outputs",
    kinds={"excel"},
    pool=WAREHOUSE_POOL,
    description="Workbook per gemeente: one sheet per mart table (after the privacy rules), the priority score, "
    "and a sheet documenting every column and unit from the models' .yml files.",
)
def factscan_excel(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
                   ) -> dg.MaterializeResult:
    policy = _policy(settings)
    docs = column_documentation(sql_models_dir())
    path = output_locations(settings.outputs_dir, settings.gemeente_code)["workbook"]
    sheets = []
    with warehouse.connect() as con:
        ensure_figures(con, context, settings, policy)
        privacy.create_suppression_table(con, policy, settings.gemeente_code)
        version = _run_version(con, context.run_id)
        resolved = {t.table: t for t in trace.figure_tables(con)[0]}
        for table in _mart_tables(con, context):
            keys = resolved[table].keys if table in resolved else ()
            cursor = con.execute(privacy.published_select(con, table, policy, keep=keys) + " order by all")
            columns = [(d[0], str(d[1])) for d in cursor.description]
            pattern = "/".join([trace.section_of(table), "{buurt_code}", *(f"{{{k}}}" for k in keys), "{column}"]) \
                if table in resolved else None
            sheets.append(excel.Sheet(table.split(".")[1][:31], table, columns, cursor.fetchall(), pattern))
        cursor = con.execute("""
            select buurt_code, figure_key as criterion, column_name, value_number, suppressed, figure_id
            from audit.figures where section = 'overzicht' order by buurt_code, figure_key, figure_id""")
        sheets.append(excel.Sheet("prioriteit", "audit.figures", [(d[0], str(d[1])) for d in cursor.description],
                                  cursor.fetchall()))
        docs = {**docs, **{("audit.figures", name): (text, None) for name, text in {
            "criterion": "Criterion of the priority score ('' for score, rank and n_criteria).",
            "figure_id": "The figure id (wup trace <figure-id>).",
            "value_number": "The value (see the Toelichting sheet for the criteria and weights).",
            "column_name": "Mart column the criterion reads, or score / rank / n_criteria.",
            "suppressed": "Blank because of the privacy rules.", "buurt_code": "CBS buurt code."}.items()}}
        docs.update({(s.table, "privacy_suppressed"): ("True when the buurt has fewer than k dwellings or households:"
                                                        " its figures are empty (privacy).", "boolean")
                     for s in sheets})
        manifest = _manifest(con, output=EXCEL, files=[path], run_id=context.run_id, version=version,
                             policy=policy)
    about = [
        ("Gemeente", settings.gemeente_code),
        ("Gemaakt", utc_now()),
        ("Run", context.run_id),
        ("Code", version),
        ("Privacy", f"Cijfers van buurten met minder dan {policy.k} woningen of huishoudens zijn leeg (onderdrukt, "
                    "kolom privacy_suppressed); per eigenaarstype alleen bij minstens k woningen van dat type."),
        ("Herkomst", "Elke cel heeft een figure id: sectie/buurtcode[/sleutel]/kolom (zie blad Kolommen, kolom "
                     "figure_id). `wup trace <figure id>` toont SQL, bronkolommen, momentopnamen en parameters."),
        ("Prioriteit", "; ".join(f"{c.name}: {c.table}.{c.column} gewicht {c.weight:g}"
                                 for c in _criteria(settings))),
    ]
    excel.write_workbook(path, about=about, sheets=sheets, docs=docs)
    trace.write_json(path.with_name(path.name + ".lineage.json"), {**manifest, "sha256": file_sha256(path)})
    context.log.info(f"workbook {path}: {len(sheets)} sheets")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                          "sheets": dg.MetadataValue.json([s.name for s in sheets])})


@dg.asset(
    key=["outputs", "factscan_geopackage"],
    deps=[FIGURES, *MAP_INPUTS],
    group_name="outputs",
    kinds={"geopackage"},
    pool=WAREHOUSE_POOL,
    description="GeoPackage per gemeente (EPSG:28992) for QGIS: buurten with indicators, a column documentation "
    "table, and dwellings with public attributes only when publish_address_level is on.",
)
def factscan_geopackage(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
                        ) -> dg.MaterializeResult:
    policy = _policy(settings)
    path = output_locations(settings.outputs_dir, settings.gemeente_code)["geopackage"]
    with warehouse.connect() as con:
        ensure_figures(con, context, settings, policy)
        privacy.create_suppression_table(con, policy, settings.gemeente_code)
        version = _run_version(con, context.run_id)
        counts = geopackage.write_geopackage(con, path, gemeente_code=settings.gemeente_code, policy=policy)
        manifest = _manifest(con, output=GPKG, files=[path], run_id=context.run_id, version=version, policy=policy)
    trace.write_json(path.with_name(path.name + ".lineage.json"), {**manifest, "layers": counts,
                                                                    "sha256": file_sha256(path)})
    context.log.info(f"GeoPackage {path}: {counts}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                          "layers": dg.MetadataValue.json(counts)})


@dg.asset(
    key=["outputs", "marts_parquet"],
    deps=[FIGURES, *MART_KEYS],
    group_name="outputs",
    kinds={"parquet"},
    pool=WAREHOUSE_POOL,
    description="Every mart table of the gemeente as Parquet (after the privacy rules), with a lineage manifest each.",
)
def marts_parquet(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
                  ) -> dg.MaterializeResult:
    policy = _policy(settings)
    out_dir = output_locations(settings.outputs_dir, settings.gemeente_code)["parquet"]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    with warehouse.connect() as con:
        ensure_figures(con, context, settings, policy)
        privacy.create_suppression_table(con, policy, settings.gemeente_code)
        version = _run_version(con, context.run_id)
        resolved = {t.table: t for t in trace.figure_tables(con)[0]}
        for table in _mart_tables(con, context):
            keys = resolved[table].keys if table in resolved else ()
            path = out_dir / f"{table.split('.')[1]}.parquet"
            tmp = path.with_name(path.name + ".tmp")
            con.execute(f"copy ({privacy.published_select(con, table, policy, keep=keys)} order by all) "
                        f"to '{tmp}' (format parquet, compression zstd)")
            os.replace(tmp, path)
            columns = [f"{table}.{c}" for c, _ in privacy.table_columns(con, table)]
            manifest = _manifest(con, output=PARQUET, files=[path], run_id=context.run_id, version=version,
                                 policy=policy, columns=columns)
            trace.write_json(path.with_name(path.name + ".lineage.json"), {**manifest, "sha256": file_sha256(path)})
            written[table] = con.execute(f"select count(*) from '{path}'").fetchone()[0]
    context.log.info(f"Parquet exports in {out_dir}: {written}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out_dir)),
                                          "rows": dg.MetadataValue.json(written)})


@dg.asset(
    key=["outputs", "lineage_manifest"],
    deps=[FIGURES, TABLE_HASHES, dg.AssetKey(["outputs", HTML]), dg.AssetKey(["outputs", EXCEL]),
          dg.AssetKey(["outputs", GPKG]), dg.AssetKey(["outputs", PARQUET])],
    group_name="outputs",
    kinds={"json"},
    pool=WAREHOUSE_POOL,
    description="One JSON manifest for the gemeente: every output file (sha256, its own manifest), the figures per "
    "output, the column lineage of every figure down to raw tables, snapshots, parameter files and table hashes.",
)
def lineage_manifest(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
                     ) -> dg.MaterializeResult:
    policy = _policy(settings)
    root = gemeente_dir(settings)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith((".lineage.json", ".tmp"))
                   and p.name != "lineage_manifest.json")
    with warehouse.connect() as con:
        version = _run_version(con, context.run_id)
        columns = [lc for (lcs,) in con.execute("select distinct lineage_columns from audit.figures").fetchall()
                   for lc in lcs]
        manifest = trace.lineage_manifest(con, output="all", files=[], columns=columns, run_id=context.run_id,
                                          version=version, privacy_policy=policy)
        per_output = dict(con.execute("select o, count(*) from (select unnest(output) as o from audit.figures) "
                                      "group by o order by o").fetchall())
    manifest["files"] = [{"path": str(p.relative_to(root)), "sha256": file_sha256(p),
                          "manifest": str(p.relative_to(root)) + ".lineage.json"
                          if p.with_name(p.name + ".lineage.json").exists() else None} for p in files]
    manifest["figures_per_output"] = per_output
    path = output_locations(settings.outputs_dir, settings.gemeente_code)["lineage"]
    trace.write_json(path, manifest)
    context.log.info(f"lineage manifest {path}: {len(files)} files")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "files": len(files)})


def published_warehouse_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """Publishing waits for every other asset of the run (and, through them, their blocking checks)."""

    @dg.asset(
        key=["outputs", "published_warehouse"],
        deps=upstream,
        group_name="outputs",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description="The warehouse analysts query: the build file copied and renamed into place atomically, "
        "only after every upstream asset and blocking check succeeded.",
    )
    def published_warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        path = warehouse.publish(run_id=context.run_id)
        context.log.info(f"published {path}")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})

    return published_warehouse


ASSETS = [table_hashes, figures, factscan_html, factscan_excel, factscan_geopackage, marts_parquet, lineage_manifest]
