"""The factscan pages: one self-contained HTML page per buurt and an overview of the gemeente, in Dutch.

Pure rendering (no Dagster, no database): the published figures (``audit.figures`` rows, after the privacy rules)
and geometry in, HTML text out. The page follows the steps of a wijkuitvoeringsplan: Verkenning, Koppelkansen,
De balans, Participatie, Bronnen en kwaliteit. Every number carries its figure id (``data-figure-id``) and a
source note (``title``: table.column, source and snapshot date); charts and maps are inline SVG (charts.py), so
the page works offline and prints to PDF.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup, escape

from wup_pipeline.reports import charts
from wup_pipeline.reports.privacy import PrivacyPolicy
from wup_pipeline.resources.settings import PACKAGE_DIR

SYNTHETIC_GEMEENTEN = {"GM9999"}
CELL_SIZE_M = 100  # CBS vierkantstatistieken use 100 m squares


def format_number(value, decimals: int = 0) -> str:
    """Dutch notation (thin space for thousands, decimal comma); '–' where there is no value."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",")


@dataclass(frozen=True)
class FigureValue:
    figure_id: str
    value_number: float | None
    value_text: str | None
    unit: str | None = None
    suppressed: bool = False
    reason: str | None = None
    note: str | None = None
    expression: str | None = None


class Figures:
    """The published figures of one buurt, found by section, column and key."""

    def __init__(self, rows: Iterable[dict]):
        self.by_id: dict[str, FigureValue] = {}
        self.order: dict[str, list[str]] = {}
        for r in rows:
            value = FigureValue(r["figure_id"], r.get("value_number"), r.get("value_text"), r.get("unit"),
                                bool(r.get("suppressed")), r.get("suppression_reason"), r.get("source_note"),
                                r.get("expression"))
            self.by_id[r["figure_id"]] = value
            key = r.get("figure_key") or ""
            keys = self.order.setdefault(r["section"], [])
            if key and key not in keys:
                keys.append(key)

    def get(self, section: str, buurt_code: str, column: str, key: str | None = None) -> FigureValue | None:
        parts = [section, buurt_code, *([key] if key else []), column]
        return self.by_id.get("/".join(parts))

    def keys(self, section: str) -> list[str]:
        return list(self.order.get(section, []))


@dataclass(frozen=True)
class Row:
    label: str
    section: str
    column: str
    unit: str = ""
    decimals: int = 0
    factor: float = 1.0  # 100 for fractions shown as percentages


def is_year_column(column: str) -> bool:
    """kwb_year, earliest_planned_year, ... (not the yearly amounts such as cost_eur_per_year)."""
    return column.endswith("year") and "_per_" not in column


def show(figure: FigureValue | None, decimals: int = 0, factor: float = 1.0) -> str:
    if figure is None:
        return "–"
    if figure.suppressed:
        return "onderdrukt"
    if figure.value_number is not None:
        if is_year_column(figure.figure_id.rsplit("/", 1)[-1]):  # years without a thousands separator
            return f"{figure.value_number:.0f}"
        return format_number(figure.value_number * factor, decimals)
    if figure.value_text in ("true", "false"):
        return "ja" if figure.value_text == "true" else "nee"
    return figure.value_text or "–"


def tooltip(figure: FigureValue | None) -> str:
    if figure is None:
        return "niet beschikbaar"
    parts = [figure.figure_id]
    if figure.suppressed:
        parts.append(f"onderdrukt: {figure.reason}")
    if figure.note:
        parts.append(figure.note)
    if figure.expression:
        parts.append(figure.expression)
    return " · ".join(parts)


def value_span(figure: FigureValue | None, decimals: int = 0, factor: float = 1.0) -> Markup:
    text = show(figure, decimals, factor)
    if figure is None:
        return Markup('<span class="v na" title="niet beschikbaar">–</span>')
    css = "v suppressed" if figure.suppressed else "v"
    return Markup(f'<span class="{css}" data-figure-id="{escape(figure.figure_id)}" title="{escape(tooltip(figure))}">'
                  f'{escape(text)}</span>')


# ---------------------------------------------------------------------------------------------------------------
# What the buurt page shows


HOUSING_ROWS = (
    Row("Woningen (BAG, in gebruik)", "woningvoorraad", "dwellings", "woningen"),
    Row("Woningen (CBS Kerncijfers)", "factscan", "dwellings", "woningen"),
    Row("Woningdichtheid", "factscan", "dwellings_per_ha", "woningen per ha", 1),
    Row("Gemiddelde gebruiksoppervlakte", "woningvoorraad", "avg_floor_area_m2", "m²"),
    Row("Gemiddelde warmtevraag (model)", "woningvoorraad", "avg_heat_demand_gj", "GJ per woning per jaar", 1),
    Row("Woningen met label E, F of G", "woningvoorraad", "pct_label_efg", "% van de woningen", 1),
    Row("Gebouwd vóór 2000 (CBS)", "factscan", "pct_built_before_2000", "% van de woningen"),
    Row("Corporatiewoningen met renovatieplan", "woningvoorraad", "n_corporation_renovation_planned", "woningen"),
)
BUILD_PERIODS = (("vóór 1945", "n_built_before_1945"), ("1945–1974", "n_built_1945_1974"),
                 ("1975–1991", "n_built_1975_1991"), ("1992–2005", "n_built_1992_2005"),
                 ("2006 en later", "n_built_since_2006"), ("onbekend", "n_build_year_unknown"))
DWELLING_TYPES = (("Appartement", "n_apartment"), ("Tussenwoning", "n_terraced"), ("Hoekwoning", "n_corner"),
                  ("Twee-onder-een-kap", "n_semi_detached"), ("Vrijstaand", "n_detached"))
LABEL_COUNTS = tuple((label, f"n_label_{label.lower()}") for label in "ABCDEFG")
OWNER_COUNTS = (("Koopwoning", "n_owner_occupied", "owner_occupied"), ("Particuliere huur", "n_private_rent",
                                                                        "private_rent"),
                ("Woningcorporatie", "n_corporation", "corporation"))
PEOPLE_ROWS = (
    Row("Inwoners", "factscan", "inhabitants", "personen"),
    Row("Huishoudens", "factscan", "households", "huishoudens"),
    Row("Gemiddelde WOZ-waarde", "factscan", "avg_woz_eur", "euro"),
    Row("Gemiddeld inkomen per inwoner", "sociaal", "income_per_inhabitant_eur", "euro per jaar"),
    Row("Niveau van dat inkomenscijfer", "sociaal", "income_level", ""),
    Row("Huishoudens met een laag inkomen", "sociaal", "pct_low_income_households", "% van de huishoudens", 1),
    Row("Huishoudens tot 110 % van het sociaal minimum", "sociaal", "pct_households_below_110_social_minimum",
        "% van de huishoudens", 1),
    Row("Koopwoningen (CBS)", "factscan", "pct_owner_occupied", "% van de woningen"),
    Row("Huur, woningcorporatie (CBS)", "factscan", "pct_corporation", "% van de woningen"),
    Row("Huur, overige verhuurders (CBS)", "factscan", "pct_private_rent", "% van de woningen"),
)
POVERTY_ROWS = (
    Row("Geschat aandeel energiearme huishoudens", "sociaal", "est_pct_households_energy_poor",
        "% van de huishoudens", 1),
    Row("Geschat aantal energiearme huishoudens", "sociaal", "est_households_energy_poor", "huishoudens"),
    Row("Huishoudens met een laag inkomen (buurt, wijk of gemeente)", "sociaal", "pct_low_income_households",
        "% van de huishoudens", 1),
    Row("Woningen met label E, F of G", "sociaal", "pct_label_efg", "% van de woningen", 1),
)
ENERGY_ROWS = (
    Row("Aardgas per woning (CBS energie)", "energie", "cbs_avg_gas_m3", "m³ per jaar"),
    Row("Elektriciteit per woning (CBS energie)", "energie", "cbs_avg_electricity_kwh", "kWh per jaar"),
    Row("Jaar van die CBS-cijfers", "energie", "cbs_energy_year", ""),
    Row("Aardgas per aansluiting (netbeheerder)", "energie", "grid_gas_avg_m3_per_connection", "m³ per jaar"),
    Row("Elektriciteit per aansluiting (netbeheerder)", "energie", "grid_electricity_avg_kwh_per_connection",
        "kWh per jaar"),
    Row("Aardgas per woning volgens het model", "energie", "modelled_gas_m3_avg", "m³ per jaar"),
    Row("Model ÷ gemeten aardgas", "energie", "ratio_modelled_to_measured_gas", "", 2),
    Row("Woningen met stadsverwarming (CBS)", "energie", "cbs_pct_district_heating", "% van de woningen", 1),
    Row("Woningen zonder aardgas (CBS hoofdverwarming)", "energie", "pct_gas_free", "% van de woningen", 1),
)
GAS_BARS = (("CBS energie", "cbs_avg_gas_m3"), ("CBS Kerncijfers", "kwb_avg_gas_m3"),
            ("Netbeheerder", "grid_gas_avg_m3_per_connection"), ("Model", "modelled_gas_m3_avg"))
HEATING_SEGMENTS = (
    ("Cv-ketel op gas", "pct_individual_gas_boiler", "#b4464b"), ("Blokverwarming", "pct_block_heating", "#d98c5f"),
    ("Warmtenet, hoog gas", "pct_district_heating_high_gas", "#e6b85c"),
    ("Warmtenet, laag gas", "pct_district_heating_low_gas", "#c9c45a"),
    ("Warmtenet, geen gas", "pct_district_heating_no_gas", "#6fae6f"),
    ("Hybride warmtepomp", "pct_hybrid_heat_pump", "#5aa5b0"),
    ("Elektrisch, laag gas", "pct_electric_low_gas", "#4f7fbf"),
    ("Elektrisch, geen gas", "pct_electric_no_gas", "#2f4f9f"),
    ("Onbekend", "pct_heating_unknown", charts.NO_DATA),
)
INFRA_COLUMNS = (("Eerste gepland jaar", "earliest_planned_year", 0),
                 ("Laatste gepland jaar", "latest_planned_year", 0), ("In planperiode", "in_plan_window", 0),
                 ("Eerste jaar in planperiode", "earliest_year_in_window", 0),
                 ("Lengte (m)", "total_length_m", 0), ("Maatregelen", "measures", 0), ("Eigenaar", "owners", 0))
# the infrastructure table's columns are INFRA_COLUMNS in this order
ASSET_NAMES = {"riolering": "Riolering", "riool": "Riolering", "sewer": "Riolering", "weg": "Weg", "road": "Weg",
               "gasnet": "Gasnet", "gas": "Gasnet", "elektriciteitsnet": "Elektriciteitsnet",
               "electricity": "Elektriciteitsnet", "warmtenet": "Warmtenet", "water": "Drinkwater",
               "groen": "Groen", "openbare_verlichting": "Openbare verlichting"}
INITIATIVE_ROWS = (
    Row("Initiatieven", "initiatieven", "n_initiatives", "aantal"),
    Row("Waarvan lopend", "initiatieven", "n_running", "aantal"),
    Row("Waarvan voor de hele wijk", "initiatieven", "n_wijk_wide", "aantal"),
    Row("Partijen", "initiatieven", "parties", ""),
    Row("Soorten", "initiatieven", "kinds", ""),
    Row("Titels", "initiatieven", "titles", ""),
    Row("Betrokken huishoudens", "initiatieven", "households_involved", "huishoudens"),
)
PARTICIPATION_ROWS = (
    Row("Contactmomenten", "participatie", "contact_moments", "aantal"),
    Row("Bereikte huishoudens", "participatie", "households_reached", "huishoudens"),
    Row("Bereik", "participatie", "reach_ratio", "% van de huishoudens", 0, 100.0),
    Row("Respondenten enquête", "participatie", "respondents", "personen"),
    Row("Respons", "participatie", "response_rate", "% van de huishoudens", 0, 100.0),
    Row("Eerste contact", "participatie", "first_contact_date", ""),
    Row("Laatste contact", "participatie", "last_contact_date", ""),
)
WILLINGNESS = (("Ja", "share_willing_yes", "#2e8b57"), ("Misschien", "share_willing_maybe", "#e0b43c"),
               ("Nee", "share_willing_no", "#c0504d"), ("Onbekend", "share_willing_unknown", charts.NO_DATA))
CONCERNS = (("Kosten", "share_concern_kosten"), ("Comfort", "share_concern_comfort"),
            ("Overlast", "share_concern_overlast"), ("Onzekerheid", "share_concern_onzekerheid"),
            ("Techniek", "share_concern_techniek"), ("Geen zorgen", "share_concern_geen"),
            ("Overig", "share_concern_overig"))
QUALITY_ROWS = (
    Row("Labels geschat (niet geregistreerd)", "woningvoorraad", "pct_label_estimated", "% van de woningen", 1),
    Row("Eigendom geschat uit CBS-aandelen", "woningvoorraad", "pct_owner_estimated", "% van de woningen", 1),
    Row("Woningen met geregistreerd label", "woningvoorraad", "n_label_registered", "woningen"),
    Row("Woningen met geschat label", "woningvoorraad", "n_label_estimated", "woningen"),
)
# De balans: the route-cost columns the cost model delivers (others are shown as well, with their .yml text)
ROUTE_COLUMNS = {
    # column: (label, unit, decimals, factor)
    "national_cost_eur_per_year": ("Nationale kosten", "euro per jaar", 0, 1.0),
    "national_extra_cost_eur_per_year": ("Nationale meerkosten", "euro per jaar", 0, 1.0),
    "national_extra_cost_eur_per_weq": ("Nationale meerkosten per woningequivalent", "euro per weq per jaar", 0, 1.0),
    "national_extra_cost_eur_per_ton_co2": ("Nationale meerkosten per ton CO₂", "euro per ton", 0, 1.0),
    "co2_reduction_ton_per_year": ("CO₂-reductie", "ton per jaar", 1, 1.0),
    "end_user_extra_cost_eur_per_dwelling_year": ("Meerkosten eindgebruiker", "euro per woning per jaar", 0, 1.0),
}
# end-user groups of the cost model (docs/cost-model.md, section 9) and of owner types
END_USER_GROUPS = {"owner_occupier": "eigenaar-bewoner", "owner_occupied": "koopwoning",
                   "private_landlord": "particuliere verhuurder", "private_tenant": "huurder bij particulier",
                   "private_rent": "particuliere huur", "corporation": "corporatie",
                   "corporation_tenant": "huurder bij corporatie", "occupant": "bewoner (gemiddeld)"}
AFFORDABILITY_COLUMNS = {
    "extra_cost_share_of_household_income": ("Meerkosten als deel van het huishoudinkomen", "%", 1, 100.0),
    "household_income_eur": ("Huishoudinkomen", "euro per jaar", 0, 1.0),
    "monthly_cost_change_owner_occupier_eur": ("Verandering maandlasten eigenaar-bewoner", "euro per maand", 0, 1.0),
    "warmtefonds_loan_eur_per_dwelling": ("Lening Warmtefonds", "euro per woning", 0, 1.0),
    "upfront_payment_eur_per_dwelling": ("Eigen inleg vooraf", "euro per woning", 0, 1.0),
}
SENSITIVITY_COLUMNS = {
    "cheapest_route": ("Goedkoopste route", "", 0, 1.0),
    "cheapest_national_extra_cost_eur_per_weq": ("Nationale meerkosten van die route", "euro per weq per jaar", 0,
                                                 1.0),
    "margin_eur_per_weq": ("Voorsprong op de tweede route", "euro per weq per jaar", 0, 1.0),
    "central_cheapest_route": ("Goedkoopste route bij centrale aannames", "", 0, 1.0),
    "same_as_central": ("Zelfde route als centraal", "", 0, 1.0),
}
REFERENCE_ROUTE = "reference"  # the cost model's baseline (gas boiler, no measures); extra costs are 0 by definition
_END_USER = re.compile(r"^end_user_extra_cost_(.+)_eur_per_dwelling_year$")
OWNER_LABELS = {"owner_occupied": "koopwoning", "private_rent": "particuliere huur", "corporation": "corporatie"}


WHOLE_SECTIONS = ("gevoeligheid",)  # rendered generically: every column is on the page


def html_columns() -> set[tuple[str, str]]:
    """(section, column) of every mart figure the buurt page shows (plus all of WHOLE_SECTIONS)."""
    rows = (*HOUSING_ROWS, *PEOPLE_ROWS, *POVERTY_ROWS, *ENERGY_ROWS, *INITIATIVE_ROWS, *PARTICIPATION_ROWS,
            *QUALITY_ROWS)
    shown = {(r.section, r.column) for r in rows}
    shown |= {("woningvoorraad", c) for _, c in (*BUILD_PERIODS, *DWELLING_TYPES, *LABEL_COUNTS)}
    shown |= {("woningvoorraad", c) for _, c, _ in OWNER_COUNTS}
    shown |= {("woningvoorraad", "n_label_unknown"), ("woningvoorraad", "n_owner_unknown")}
    shown |= {("energie", c) for _, c in GAS_BARS} | {("energie", c) for _, c, _ in HEATING_SEGMENTS}
    shown |= {("participatie", c) for _, c, _ in WILLINGNESS} | {("participatie", c) for _, c in CONCERNS}
    shown |= {("participatie", "small_cell")}
    shown |= {("koppelkansen", c) for _, c, _ in INFRA_COLUMNS} | {("koppelkansen", "n_assets_in_window")}
    return shown


def shown_on_page(section: str, column: str) -> bool:
    """Whether the buurt page shows a mart column (De balans: the key costs and the end-user view)."""
    if section in WHOLE_SECTIONS:
        return True
    if section == "balans":
        return column in ROUTE_COLUMNS or column in ("route_name", "cheapest_route") or is_end_user_column(column)
    return (section, column) in html_columns()


def rows_view(figures: Figures, buurt: str, rows: Sequence[Row]) -> list[dict]:
    return [{"label": r.label, "unit": r.unit,
             "value": value_span(figures.get(r.section, buurt, r.column), r.decimals, r.factor)} for r in rows]


def _bar(figures: Figures, buurt: str, section: str, column: str, label: str, *, unit: str = "",
         colour: str = charts.BAR, factor: float = 1.0, decimals: int = 0, key: str | None = None) -> charts.Bar:
    figure = figures.get(section, buurt, column, key)
    value = None if figure is None or figure.value_number is None else figure.value_number * factor
    display = show(figure, decimals, factor) + (f" {unit}" if unit and value is not None else "")
    return charts.Bar(label, value, display, figure.figure_id if figure else None,
                      (figure.note or "") if figure else "niet beschikbaar", colour)


def housing_charts(figures: Figures, buurt: str) -> list[dict]:
    def chart(title: str, bars: list[charts.Bar], caption: str) -> dict:
        return {"title": title, "svg": Markup(charts.bar_chart(bars, title=title)), "caption": caption}

    source = "marts.housing_stock_buurt (BAG, EP-Online, corporatiebezit, model; zie Bronnen)"
    return [
        chart("Bouwperiode", [_bar(figures, buurt, "woningvoorraad", c, label) for label, c in BUILD_PERIODS],
              f"Woningen per bouwperiode · {source}"),
        chart("Woningtype", [_bar(figures, buurt, "woningvoorraad", c, label) for label, c in DWELLING_TYPES],
              f"Woningen per type (afgeleid uit BAG-panden) · {source}"),
        chart("Energielabel", [_bar(figures, buurt, "woningvoorraad", c, f"Label {label}",
                                    colour=charts.LABEL_COLOURS[label]) for label, c in LABEL_COUNTS]
              + [_bar(figures, buurt, "woningvoorraad", "n_label_unknown", "Onbekend", colour=charts.NO_DATA)],
              f"Geregistreerd of geschat label · {source}"),
        chart("Eigendom", [_bar(figures, buurt, "woningvoorraad", c, label, colour=charts.OWNER_COLOURS[o])
                           for label, c, o in OWNER_COUNTS]
              + [_bar(figures, buurt, "woningvoorraad", "n_owner_unknown", "Onbekend", colour=charts.NO_DATA)],
              f"Eigenaarstype (corporatiebezit of geschat uit CBS-aandelen) · {source}"),
    ]


def cell_origin(key: str) -> tuple[float, float] | None:
    """'E1536N4552' (CBS style, hectometres) -> (153600, 455200)."""
    if not key.startswith("E") or "N" not in key:
        return None
    east, north = key[1:].split("N", 1)
    try:
        return float(east) * CELL_SIZE_M, float(north) * CELL_SIZE_M
    except ValueError:
        return None


def cell_key(x0: float, y0: float) -> str:
    return f"E{int(x0 // CELL_SIZE_M):04d}N{int(y0 // CELL_SIZE_M):04d}"


@dataclass(frozen=True)
class MapData:
    boundary: list  # polygons of the buurt
    neighbours: list[tuple[str, str, list]] = field(default_factory=list)  # (code, name, polygons)
    dots: list[tuple[float, float, str | None]] = field(default_factory=list)  # (x, y, registered label)


def buurt_maps(figures: Figures, buurt: str, name: str, data: MapData, policy: PrivacyPolicy) -> list[dict]:
    """Two maps: labels (share E-G per 100 m cell) and owner types (largest group per cell)."""
    context = [charts.Area(code, polygons, stroke="#9aa7b1", stroke_width=0.8, title=f"{nb} ({code})",
                           href=f"{code}.html") for code, nb, polygons in data.neighbours]
    focus = [charts.Area(buurt, data.boundary, stroke=charts.INK, stroke_width=2, title=f"{name} ({buurt})")]
    label_cells, owner_cells = [], []
    for key in figures.keys("kaart"):
        origin = cell_origin(key)
        if origin is None:
            continue
        n = figures.get("kaart", buurt, "dwellings", key)
        efg = figures.get("kaart", buurt, "pct_label_efg", key)
        shares = {o: figures.get("kaart", buurt, f"pct_{o}", key) for o in charts.OWNER_COLOURS}
        hidden = n is None or n.suppressed
        cell_name = f"Vierkant {key} (100 m)"
        if hidden:
            why = n.reason if n else "geen gegevens"
            title = f"{cell_name}: onderdrukt ({why})"
            label_cells.append(charts.Cell(*origin, CELL_SIZE_M, charts.NO_DATA, title, n and n.figure_id, True))
            owner_cells.append(charts.Cell(*origin, CELL_SIZE_M, charts.NO_DATA, title, n and n.figure_id, True))
            continue
        label_cells.append(charts.Cell(
            *origin, CELL_SIZE_M, charts.class_colour(efg.value_number if efg else None),
            f"{cell_name}: {show(n)} woningen, {show(efg, 0)} % label E-G · {tooltip(efg)}",
            efg.figure_id if efg else None))
        present = {o: f.value_number for o, f in shares.items() if f and f.value_number is not None}
        largest = max(present, key=present.get) if present else None
        owner_cells.append(charts.Cell(
            *origin, CELL_SIZE_M, charts.OWNER_COLOURS.get(largest, charts.NO_DATA),
            f"{cell_name}: {show(n)} woningen; " + ", ".join(
                f"{OWNER_LABELS[o]} {show(f, 0)} %" for o, f in shares.items()) + f" · {tooltip(n)}",
            shares[largest].figure_id if largest else None))
    suppressed_item = charts.LegendItem(charts.NO_DATA, f"minder dan {policy.k} woningen", hatched=True)
    # a registered label such as A++ has the colour of its class A
    dots_label = [charts.Dot(x, y, charts.LABEL_COLOURS.get((label or "")[:1], "#7d8a94")) for x, y, label in data.dots]
    label_legend = charts.class_legend(charts.SEQUENTIAL_RED, "% label E-G") + [suppressed_item]
    if dots_label:
        label_legend.append(charts.LegendItem("#7d8a94", "stip: woning (kleur = geregistreerd label)"))
    owner_legend = [charts.LegendItem(colour, OWNER_LABELS[o]) for o, colour in charts.OWNER_COLOURS.items()]
    owner_legend.append(suppressed_item)
    address_note = ("Stippen: woningen (BAG) gekleurd naar hun geregistreerde label; geschatte labels en eigendom "
                    "worden nooit per adres getoond.") if dots_label else \
        "Adresniveau staat uit: de kaart toont alleen vierkanten van 100 m met minstens " \
        f"{policy.k} woningen."
    return [
        {"title": "Energielabels", "svg": Markup(charts.area_map(
            title=f"Energielabels in {name}", focus=focus, context=context, cells=label_cells, dots=dots_label,
            legend=label_legend, map_id="kaart-labels")),
         "caption": "Aandeel woningen met label E, F of G per vierkant van 100 m (geregistreerd of geschat) · "
                    f"intermediate.int_dwellings.label_class, BAG-ligging; buurtgrens PDOK. {address_note}"},
        {"title": "Eigendom", "svg": Markup(charts.area_map(
            title=f"Eigendom in {name}", focus=focus, context=context, cells=owner_cells, legend=owner_legend,
            map_id="kaart-eigendom")),
         "caption": "Grootste eigenaarsgroep per vierkant van 100 m · intermediate.int_dwellings.owner_type "
                    "(corporatiebezit of geschat uit CBS-aandelen); buurtgrens PDOK."},
    ]


def route_column_spec(column: str, docs: dict[str, tuple[str, str | None]]) -> tuple[str, str, int, float]:
    """(label, unit, decimals, factor) of a route-cost column; unknown columns get their .yml text."""
    if column in ROUTE_COLUMNS:
        return ROUTE_COLUMNS[column]
    if column in AFFORDABILITY_COLUMNS:
        return AFFORDABILITY_COLUMNS[column]
    if column in SENSITIVITY_COLUMNS:
        return SENSITIVITY_COLUMNS[column]
    match = _END_USER.match(column)
    if match and match.group(1) in END_USER_GROUPS:
        return f"Meerkosten {END_USER_GROUPS[match.group(1)]}", "euro per woning per jaar", 0, 1.0
    for owner, label in OWNER_LABELS.items():  # <cost column>_<owner type>
        if column.endswith(f"_{owner}") and column.removesuffix(f"_{owner}") in ROUTE_COLUMNS:
            base, unit, decimals, factor = ROUTE_COLUMNS[column.removesuffix(f"_{owner}")]
            return f"{base}, {label}", unit, decimals, factor
    description, unit = docs.get(column, (column, None))
    return description, unit or "", 2, 1.0


def is_end_user_column(column: str) -> bool:
    match = _END_USER.match(column)
    return bool(match and match.group(1) in END_USER_GROUPS) or column in AFFORDABILITY_COLUMNS or any(
        column.endswith(f"_{o}") and column.removesuffix(f"_{o}") in ROUTE_COLUMNS for o in OWNER_LABELS)


def table_view(figures: Figures, buurt: str, section: str, columns: Sequence[str],
               docs: dict[str, tuple[str, str | None]]) -> dict:
    """A keyed mart (strategies, sensitivity cases) as rows (keys) x columns of figure values."""
    specs = [route_column_spec(c, docs) for c in columns]
    rows = []
    for key in figures.keys(section):
        name = figures.get(section, buurt, "route_name", key)
        rows.append({"key": key, "name": name.value_text if name else None,
                     "cells": [value_span(figures.get(section, buurt, c, key), spec[2], spec[3])
                               for c, spec in zip(columns, specs, strict=True)]})
    return {"header": [{"label": spec[0], "unit": spec[1]} for spec in specs], "rows": rows}


def transposed_view(figures: Figures, buurt: str, section: str, columns: Sequence[str],
                    docs: dict[str, tuple[str, str | None]]) -> dict:
    """The same as rows (columns) x keys: for many columns and few keys."""
    keys = figures.keys(section)
    rows = []
    for column in columns:
        label, unit, decimals, factor = route_column_spec(column, docs)
        rows.append({"label": label, "unit": unit, "column": column,
                     "cells": [value_span(figures.get(section, buurt, column, key), decimals, factor) for key in keys]})
    return {"keys": keys, "rows": rows}


def balance_view(figures: Figures, buurt: str, columns: dict[str, list[str]], present: dict[str, bool],
                 docs: dict[str, dict[str, tuple[str, str | None]]]) -> dict:
    """De balans from marts.route_costs_buurt / route_sensitivity_buurt, or 'nog niet berekend'.

    Two views of the route costs: the key national figures and CO2 per strategy, and the end-user costs and
    affordability per owner group; every other column of the cost model is in the workbook."""
    view: dict = {"present": present.get("balans", False), "sensitivity_present": present.get("gevoeligheid", False)}
    if view["present"]:
        all_columns = columns.get("balans", [])
        main = [c for c in ROUTE_COLUMNS if c in all_columns]
        owners = [c for c in all_columns if is_end_user_column(c)]
        section_docs = docs.get("balans", {})
        view["costs"] = table_view(figures, buurt, "balans", main, section_docs)
        view["owners"] = table_view(figures, buurt, "balans", owners, section_docs) if owners else None
        view["cheapest"] = value_span(figures.get("balans", buurt, "cheapest_route",
                                                  (figures.keys("balans") or [None])[0]))
        bars = [_bar(figures, buurt, "balans", "national_extra_cost_eur_per_weq", key, key=key, unit="€")
                for key in figures.keys("balans") if key != REFERENCE_ROUTE]
        view["chart"] = Markup(charts.bar_chart(bars, title="Nationale meerkosten per woningequivalent",
                                                label_width=190)) if bars else None
        view["has_rows"] = bool(figures.keys("balans"))
    if view["sensitivity_present"]:
        view["sensitivity"] = transposed_view(figures, buurt, "gevoeligheid", columns.get("gevoeligheid", []),
                                              docs.get("gevoeligheid", {}))
    return view


def infrastructure_view(figures: Figures, buurt: str) -> list[dict]:
    rows = []
    for key in figures.keys("koppelkansen"):
        cells = [value_span(figures.get("koppelkansen", buurt, column, key), decimals)
                 for _, column, decimals in INFRA_COLUMNS]
        in_window = figures.get("koppelkansen", buurt, "in_plan_window", key)
        rows.append({"asset": ASSET_NAMES.get(key, key), "cells": cells,
                     "in_window": bool(in_window and in_window.value_text == "true")})
    return rows


def section_sources(figures: Figures, sections: Sequence[str]) -> str:
    """One footnote per page section: the tables and sources its figures come from (for print)."""
    notes = []
    for figure in figures.by_id.values():
        if figure.figure_id.split("/", 1)[0] in sections and figure.note and " · bron: " in figure.note:
            table = figure.note.split(" · ", 1)[0].rsplit(".", 1)[0]
            sources = figure.note.split(" · bron: ", 1)[1]
            notes.extend([table, *sources.split("; ")])
    unique = list(dict.fromkeys(notes))
    return "; ".join(unique)


@functools.cache
def _environment() -> jinja2.Environment:
    """One environment per process: the templates are compiled once, not once per page (36 pages a gemeente).

    auto_reload is off so that every page of a run renders with the template the run started with: a template
    edited during a run (while the Python code that feeds it is the old one) cannot break pages half-way."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "reports" / "templates"),
        autoescape=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )


@dataclass
class BuurtPage:
    buurt_code: str
    buurt_name: str
    wijk_code: str | None
    gemeente_code: str
    gemeente_name: str
    figures: Figures
    suppression_reason: str | None
    maps: MapData
    columns: dict[str, list[str]]  # section -> value columns in mart order (balans, gevoeligheid)
    present: dict[str, bool]  # section -> its mart exists (balans, gevoeligheid, participatie)
    docs: dict[str, dict[str, tuple[str, str | None]]]  # section -> column -> (description, unit)
    sources: list[dict]
    checks: list[dict]
    policy: PrivacyPolicy
    run_id: str
    code_version: str
    generated_at: str


def render_buurt_page(page: BuurtPage) -> str:
    f, b = page.figures, page.buurt_code
    participation = f.get("participatie", b, "respondents")
    small_cell = f.get("participatie", b, "small_cell")
    willingness = [_bar(f, b, "participatie", c, label, colour=colour, factor=100, unit="%")
                   for label, c, colour in WILLINGNESS]
    concerns = [_bar(f, b, "participatie", c, label, factor=100, unit="%") for label, c in CONCERNS]
    heating = [_bar(f, b, "energie", c, label, colour=colour, unit="%") for label, c, colour in HEATING_SEGMENTS]
    gas = [_bar(f, b, "energie", c, label, unit="m³") for label, c in GAS_BARS]
    return _environment().get_template("factscan_buurt.html").render(
        page=page,
        synthetic=page.gemeente_code in SYNTHETIC_GEMEENTEN,
        housing=rows_view(f, b, HOUSING_ROWS),
        housing_charts=housing_charts(f, b),
        maps=buurt_maps(f, b, page.buurt_name, page.maps, page.policy),
        people=rows_view(f, b, PEOPLE_ROWS),
        poverty=rows_view(f, b, POVERTY_ROWS),
        energy=rows_view(f, b, ENERGY_ROWS),
        gas_chart=Markup(charts.bar_chart(gas, title="Aardgas per woning of aansluiting")),
        heating_chart=Markup(charts.stacked_bar(heating, title="Hoofdverwarming van de woningen (CBS)")),
        infrastructure=infrastructure_view(f, b),
        assets_in_window=value_span(f.get("koppelkansen", b, "n_assets_in_window", (f.keys("koppelkansen") or
                                                                                     [None])[0])),
        initiatives=rows_view(f, b, INITIATIVE_ROWS),
        renovation=value_span(f.get("woningvoorraad", b, "n_corporation_renovation_planned")),
        balance=balance_view(f, b, page.columns, page.present, page.docs),
        participation_present=participation is not None,
        small_cell=bool(small_cell and small_cell.value_text == "true"),
        participation=rows_view(f, b, PARTICIPATION_ROWS),
        willingness_chart=Markup(charts.stacked_bar(willingness, title="Bereidheid om mee te doen")),
        concerns_chart=Markup(charts.bar_chart(concerns, title="Zorgen van respondenten")),
        quality=rows_view(f, b, QUALITY_ROWS),
        notes={name: section_sources(f, sections) for name, sections in {
            "verkenning": ("factscan", "woningvoorraad", "sociaal", "energie"),
            "koppelkansen": ("koppelkansen", "initiatieven"),
            "balans": ("balans", "gevoeligheid"),
            "participatie": ("participatie",)}.items()},
    )


@dataclass
class IndexPage:
    gemeente_code: str
    gemeente_name: str
    ranking: list[dict]  # per buurt: code, name, dwellings, score, rank, n_criteria, criteria {name: (value, scaled)}
    criteria: list[dict]  # name, label, source, direction, weight, explanation, available
    map_areas: list[dict]  # code, name, polygons, score, rank
    links: dict[str, str]
    sources: list[dict]
    policy: PrivacyPolicy
    run_id: str
    code_version: str
    generated_at: str


def render_index_page(page: IndexPage) -> str:
    areas = []
    for a in page.map_areas:
        score = a["score"]
        colour = charts.class_colour(score.value_number if score else None, charts.SEQUENTIAL_BLUE)
        label = str(a["rank"]) if a.get("rank") else None
        areas.append(charts.Area(
            a["code"], a["polygons"], fill=colour, stroke="#ffffff", stroke_width=1.2,
            title=f"{a['name']} ({a['code']}): score {show(score, 0)}" + (f", plaats {a['rank']}" if label else ""),
            href=f"{a['code']}.html", label=label, label_point=a.get("label_point"),
            figure_id=score.figure_id if score else None))
    legend = charts.class_legend(charts.SEQUENTIAL_BLUE, "punten") + [
        charts.LegendItem(charts.NO_DATA, "geen score (onderdrukt of geen gegevens)")]
    svg = charts.area_map(title=f"Prioriteitsscore per buurt, {page.gemeente_name}", focus=areas, legend=legend,
                          width=640, map_id="kaart-gemeente")
    return _environment().get_template("factscan_index.html").render(
        page=page, synthetic=page.gemeente_code in SYNTHETIC_GEMEENTEN, map_svg=Markup(svg), show=show,
        value_span=value_span, format_number=format_number)
