"""The factscan GeoPackage of a gemeente for QGIS (geopandas + pyogrio), EPSG:28992.

Layers:
* ``buurten``: buurt polygons with the indicators of ``BUURT_COLUMNS``, taken from audit.figures (so after the
  privacy rules: a suppressed buurt keeps its polygon, code and name and the reason, its figures are empty);
* ``woningen``: one point per dwelling with public attributes only (privacy.ADDRESS_LEVEL_COLUMNS), written only
  when ``publish_address_level`` is on;
* ``kolommen``: a table documenting every column of the other layers (source table.column, description, unit).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from wup_pipeline.reports import privacy

CRS = "EPSG:28992"
BUURTEN_LAYER = "buurten"
WONINGEN_LAYER = "woningen"
COLUMNS_LAYER = "kolommen"


@dataclass(frozen=True)
class LayerColumn:
    name: str
    section: str | None  # figure section; None for identity columns from the boundaries
    column: str  # mart column (or boundary column)
    description: str
    unit: str
    kind: str = "number"  # number or text
    aggregate: str = "one"  # one row per buurt, or max/min over keyed rows


BUURT_COLUMNS: tuple[LayerColumn, ...] = (
    LayerColumn("buurt_code", None, "buurt_code", "CBS buurt code.", "code", "text"),
    LayerColumn("buurt_name", None, "buurt_name", "Buurt name.", "name", "text"),
    LayerColumn("wijk_code", None, "wijk_code", "CBS wijk code.", "code", "text"),
    LayerColumn("gemeente_code", None, "gemeente_code", "CBS gemeente code.", "code", "text"),
    LayerColumn("dwellings", "woningvoorraad", "dwellings", "Dwellings in use (BAG, address-level model).",
                "dwellings"),
    LayerColumn("dwellings_cbs", "factscan", "dwellings", "Dwellings (CBS Kerncijfers).", "dwellings"),
    LayerColumn("inhabitants", "factscan", "inhabitants", "Inhabitants (CBS, rounded to 5).", "persons"),
    LayerColumn("households", "factscan", "households", "Households (CBS).", "households"),
    LayerColumn("avg_woz_eur", "factscan", "avg_woz_eur", "Average WOZ value of dwellings (CBS).", "euro"),
    LayerColumn("pct_owner_occupied", "factscan", "pct_owner_occupied", "Owner-occupied dwellings (CBS).",
                "% of dwellings"),
    LayerColumn("pct_corporation", "factscan", "pct_corporation", "Dwellings of housing corporations (CBS).",
                "% of dwellings"),
    LayerColumn("pct_private_rent", "factscan", "pct_private_rent", "Dwellings rented from other landlords (CBS).",
                "% of dwellings"),
    LayerColumn("pct_label_efg", "woningvoorraad", "pct_label_efg", "Dwellings with label class E, F or G "
                "(registered or estimated).", "% of dwellings"),
    LayerColumn("pct_label_estimated", "woningvoorraad", "pct_label_estimated", "Dwellings whose label is "
                "estimated, not registered.", "% of dwellings"),
    LayerColumn("avg_heat_demand_gj", "woningvoorraad", "avg_heat_demand_gj", "Average modelled heat demand "
                "(space heating and hot water).", "GJ per dwelling per year"),
    LayerColumn("income_per_inhabitant_eur", "sociaal", "income_per_inhabitant_eur", "Average income per "
                "inhabitant (buurt, else wijk or gemeente; see income_level).", "euro per year"),
    LayerColumn("income_level", "sociaal", "income_level", "Level the income figure is from.", "category", "text"),
    LayerColumn("est_pct_households_energy_poor", "sociaal", "est_pct_households_energy_poor", "Estimated share "
                "of energy-poor households (low income x label E-G).", "% of households"),
    LayerColumn("measured_gas_m3_avg", "energie", "measured_gas_m3_avg", "Average gas use per dwelling (CBS).",
                "m3 per dwelling per year"),
    LayerColumn("modelled_gas_m3_avg", "energie", "modelled_gas_m3_avg", "Average modelled gas use per dwelling.",
                "m3 per dwelling per year"),
    LayerColumn("pct_gas_free", "energie", "pct_gas_free", "Dwellings whose main heating uses no gas (CBS).",
                "% of dwellings"),
    LayerColumn("n_assets_in_window", "koppelkansen", "n_assets_in_window", "Networks with planned works in the "
                "plan window (koppelkansen).", "networks", aggregate="max"),
    LayerColumn("share_willing_yes", "participatie", "share_willing_yes", "Survey respondents willing to take "
                "part (blank for small cells).", "fraction of respondents"),
    LayerColumn("min_national_extra_cost_eur_per_weq", "balans", "national_extra_cost_eur_per_weq", "Lowest "
                "national extra cost per dwelling equivalent over the strategies (empty until the route costs "
                "are computed).", "euro per weq per year", aggregate="min"),
    LayerColumn("priority_score", "overzicht", "score", "Multi-criteria priority score of the gemeente overview.",
                "points (0-100)"),
    LayerColumn("privacy_suppressed", None, "privacy_suppressed", "True when the buurt has fewer than k "
                "dwellings or households: its figures are empty.", "boolean", "bool"),
    LayerColumn("suppression_reason", None, "reason", "Why the figures are empty.", "text", "text"),
)


def buurten_frame(con: duckdb.DuckDBPyConnection, gemeente_code: str):
    """The buurten layer as a GeoDataFrame, pivoted from audit.figures (needs the suppression temp table)."""
    import geopandas as gpd
    import shapely

    selects = []
    for c in BUURT_COLUMNS:
        if c.section is None:
            continue
        value = "value_text" if c.kind == "text" else "value_number"
        agg = {"one": "max", "max": "max", "min": "min"}[c.aggregate]
        selects.append(f"{agg}({value}) filter (where section = '{c.section}' and column_name = '{c.column}') "
                       f"as \"{c.name}\"")
    frame = con.execute(f"""
        with pivoted as (
            select buurt_code, {", ".join(selects)}
            from audit.figures where section in ({", ".join(sorted({f"'{c.section}'" for c in BUURT_COLUMNS
                                                                     if c.section}))})
            group by buurt_code
        )
        select b.buurt_code, b.buurt_name, b.wijk_code, b.gemeente_code, pivoted.* exclude (buurt_code),
               coalesce(s.suppressed, true) as privacy_suppressed, s.reason as suppression_reason,
               st_aswkb(b.geometry) as wkb
        from staging.stg_pdok__buurten as b
        inner join {privacy.SUPPRESSION_TABLE} as s on s.buurt_code = b.buurt_code
        left join pivoted on pivoted.buurt_code = b.buurt_code
        where b.gemeente_code = ?
        order by b.buurt_code""", [gemeente_code]).df()
    geometry = shapely.from_wkb([bytes(w) if w is not None else None for w in frame.pop("wkb")])
    for c in BUURT_COLUMNS:
        if c.kind == "number":
            frame[c.name] = pd.to_numeric(frame[c.name], errors="coerce").astype("float64")
        elif c.kind == "bool":
            frame[c.name] = frame[c.name].astype(bool)
        else:
            frame[c.name] = frame[c.name].astype(object)
    return gpd.GeoDataFrame(frame[[c.name for c in BUURT_COLUMNS]], geometry=geometry, crs=CRS)


def woningen_frame(con: duckdb.DuckDBPyConnection, gemeente_code: str):
    import geopandas as gpd

    frame = con.execute(privacy.ADDRESS_LEVEL_SQL, {"gemeente": gemeente_code}).df()
    geometry = gpd.points_from_xy(frame.pop("x_rd"), frame.pop("y_rd"), crs=CRS)
    frame["registered_label_date"] = frame["registered_label_date"].astype(str).where(
        frame["registered_label_date"].notna(), None)
    columns = [*privacy.ADDRESS_LEVEL_COLUMNS, "buurt_code"]
    return gpd.GeoDataFrame(frame[columns], geometry=geometry, crs=CRS)


def column_documentation(address_level: bool) -> pd.DataFrame:
    rows = [{"layer": BUURTEN_LAYER, "column": c.name,
             "source": f"audit.figures ({c.section}/<buurt_code>/{c.column})" if c.section else
             "staging.stg_pdok__buurten / privacy rules", "description": c.description, "unit": c.unit}
            for c in BUURT_COLUMNS]
    if address_level:
        rows += [{"layer": WONINGEN_LAYER, "column": name, "source": "intermediate.int_dwellings, BAG",
                  "description": description, "unit": unit}
                 for name, (description, unit) in privacy.ADDRESS_LEVEL_COLUMNS.items()]
        rows.append({"layer": WONINGEN_LAYER, "column": "buurt_code", "source": "intermediate.int_dwellings",
                     "description": "Buurt the dwelling lies in.", "unit": "code"})
    return pd.DataFrame(rows)


def write_geopackage(con: duckdb.DuckDBPyConnection, path: Path, *, gemeente_code: str,
                     policy: privacy.PrivacyPolicy) -> dict[str, int]:
    """Write the layers to a temporary file, then rename it into place; returns rows per layer."""
    import pyogrio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".tmp.gpkg")
    os.close(handle)
    os.unlink(tmp_name)  # GDAL creates the file itself
    counts = {}
    try:
        buurten = buurten_frame(con, gemeente_code)
        buurten.to_file(tmp_name, layer=BUURTEN_LAYER, driver="GPKG", engine="pyogrio")
        counts[BUURTEN_LAYER] = len(buurten)
        if policy.publish_address_level:
            woningen = woningen_frame(con, gemeente_code)
            woningen.to_file(tmp_name, layer=WONINGEN_LAYER, driver="GPKG", engine="pyogrio")
            counts[WONINGEN_LAYER] = len(woningen)
        documentation = column_documentation(policy.publish_address_level)
        pyogrio.write_dataframe(documentation, tmp_name, layer=COLUMNS_LAYER, driver="GPKG")
        counts[COLUMNS_LAYER] = len(documentation)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return counts
