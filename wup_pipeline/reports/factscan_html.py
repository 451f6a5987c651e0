"""A first factscan page per buurt: the figures of marts.factscan_buurt with units and sources.

Pure rendering (no Dagster, no database): rows and source notes in, HTML text out.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from wup_pipeline.resources.settings import PACKAGE_DIR

SYNTHETIC_GEMEENTEN = {"GM9999"}


@dataclass(frozen=True)
class Figure:
    column: str
    label: str
    unit: str
    decimals: int = 0


FIGURES = (
    Figure("inhabitants", "Inwoners", "personen"),
    Figure("households", "Huishoudens", "huishoudens"),
    Figure("dwellings", "Woningen", "woningen"),
    Figure("dwellings_per_ha", "Woningdichtheid", "woningen per ha", 1),
    Figure("avg_woz_eur", "Gemiddelde WOZ-waarde", "euro"),
    Figure("pct_owner_occupied", "Koopwoningen", "% van de woningen"),
    Figure("pct_corporation", "Huur, woningcorporatie", "% van de woningen"),
    Figure("pct_private_rent", "Huur, overige verhuurders", "% van de woningen"),
    Figure("pct_built_before_2000", "Gebouwd voor 2000", "% van de woningen"),
    Figure("pct_built_last_10_years", "Gebouwd in de laatste tien jaar", "% van de woningen"),
    Figure("avg_gas_m3", "Gemiddeld aardgasverbruik", "m³ per woning per jaar"),
    Figure("avg_electricity_kwh", "Gemiddeld elektriciteitsverbruik", "kWh per woning per jaar"),
    Figure("pct_district_heating", "Woningen met stadsverwarming", "% van de woningen", 1),
    Figure("income_per_inhabitant_eur", "Gemiddeld inkomen per inwoner", "euro per jaar"),
    Figure("pct_low_income_households", "Huishoudens met een laag inkomen", "% van de huishoudens", 1),
    Figure("area_ha", "Oppervlakte", "ha", 1),
)


def format_number(value, decimals: int = 0) -> str:
    """Dutch notation; '–' where CBS suppressed or did not publish the figure."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "reports" / "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )


def render_buurt_page(row: dict, sources: list[dict], generated_at: str) -> str:
    figures = [
        {"label": f.label, "value": format_number(row.get(f.column), f.decimals), "unit": f.unit,
         "figure_id": f"factscan/{row['buurt_code']}/{f.column}"}
        for f in FIGURES
    ]
    return _environment().get_template("factscan_buurt.html").render(
        row=row, figures=figures, sources=sources, generated_at=generated_at,
        synthetic=row["gemeente_code"] in SYNTHETIC_GEMEENTEN,
    )


def render_index_page(rows: list[dict], generated_at: str) -> str:
    gemeente = rows[0]["gemeente_name"] if rows else ""
    code = rows[0]["gemeente_code"] if rows else ""
    return _environment().get_template("factscan_index.html").render(
        rows=rows, gemeente=gemeente, generated_at=generated_at, fmt=format_number,
        synthetic=code in SYNTHETIC_GEMEENTEN,
    )
