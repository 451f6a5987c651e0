"""Derive the cost-model parameter tables (``costs_*.csv``) from the published files they cite.

Two parameter sets:

- ``startanalyse-2020``: PBL Vesta MAIS as used for the Startanalyse aardgasvrije buurten 2020
  (``vesta_startanalyse2020/``: Woningen_BAG 2020-08-27, Utiliteiten_BAG 2020-06-15, KEV2019 energy
  prices, installaties/, model/Kengetallen/*.dms, the release notes and the functional design), plus
  the grid operators' note on E- and G-grids (2019) and a few settings of the public Vesta code
  (discount rate, lifetimes) that the shared folder does not include.
- ``default``: the 2024/2025 values of ``vesta_kentallen/`` (Kentallen 2024-10-15, Woningen_BAG
  2024-10-16, Utiliteiten_BAG 2021-04-20, installaties/, Leercurve/, Eindgebruikerskosten/), with
  2025 energy taxes and subsidies from their public sources; where the 2024 folder has no value
  (energy commodity prices, some heat-network kentallen) the 2020 value is kept and the note says so.

Run::

    python -m wup_pipeline.parameters.derive_costs <shared data dir> [<output dir>]

The tests re-derive the tables when the shared folder is present and compare them with the shipped
CSVs. What every parameter means and how the model uses it: docs/cost-model.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from wup_pipeline import parameters
from wup_pipeline.resources.errors import InputError

SA2020 = "startanalyse-2020"
DEFAULT = "default"
LABEL_RANK = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7}
HEAT_LABELS = ("N", "G", "F", "E", "D", "C", "B", "A")
STEP_SOURCES = ("N", "G", "F", "E", "D", "C", "B")
STEP_TARGETS = ("D", "C", "B", "A")
PRICE_YEARS = (2020, 2025, 2030, 2035, 2040, 2045, 2050)
TAX_YEAR_DEFAULT = 2025
PRICE_LEVEL_YEAR_DEFAULT = 2024  # price level of the 2024 kentallen

VESTA = "via RuudvandenWijngaart/VestaDV"
SA_DIR = "vesta_startanalyse2020"
KT_DIR = "vesta_kentallen"
RELEASE_NOTES = "PBL, Release notes Vesta Startanalyse 2020 (2020-09-24)"
FO3 = "PBL/CE Delft, Functioneel ontwerp Vesta 3.0 (3.H57, December 2017)"
GRID_NOTE = (
    "Liander/Enexis/Stedin, Notitie vertegenwoordiging van elektriciteits- en gasnetten in Vesta t.b.v. "
    "de Leidraad (conceptversie 1.0, 2019-07-15), table Kengetallen"
)
VESTA_CODE = "PBL Vesta MAIS code (RuudvandenWijngaart/VestaDV)"
KEV2019 = "PBL KEV2019 energy prices as used by the Startanalyse 2020 (data/20200812_Energieprijzen_KEV2019_{}.csv)"

# Vesta type names of the dwelling table and the utility types of the utility table.
DWELLING_TYPES = (
    "vrijstaand",
    "2 onder 1 kap",
    "rijwoning hoek",
    "rijwoning tussen",
    "meergezins: laag en midden",
    "meergezins: hoog",
)
UTILITY_TYPES = (
    "Kantoor",
    "Winkel",
    "Gezondheidszorg",
    "Logies",
    "Onderwijs",
    "Industrie",
    "Bijeenkomst",
    "Sport",
    "Overig",
    "Cel",
)

# Release notes Vesta Startanalyse 2020, appendix A.1: dwellings in the Netherlands per Vesta type and
# build period (BAG 1 January 2019 and 1 January 2020). Columns: voor 1946, 1946-1965, 1965-1975,
# 1975-1992, 1992-2006, 2006-2020 (the table header prints the fourth as '1965-1992').
DWELLING_STOCK = {
    2019: {
        "vrijstaand": (287943, 143102, 126676, 183823, 186413, 89394),
        "2 onder 1 kap": (176586, 139704, 98475, 120635, 99220, 55433),
        "rijwoning hoek": (128333, 159911, 209050, 308324, 124654, 81311),
        "rijwoning tussen": (343432, 311267, 439430, 703918, 354913, 197231),
        "meergezins: laag en midden": (293039, 201085, 117618, 370579, 211237, 215369),
        "meergezins: hoog": (237925, 189928, 296465, 207148, 204274, 183384),
    },
    2020: {
        "vrijstaand": (287220, 142714, 126384, 183266, 185449, 98656),
        "2 onder 1 kap": (176443, 139574, 98528, 120723, 99122, 61720),
        "rijwoning hoek": (128109, 159385, 208826, 307986, 124643, 89172),
        "rijwoning tussen": (343380, 310422, 439055, 703756, 354965, 214040),
        "meergezins: laag en midden": (297018, 201119, 118198, 371261, 212252, 241348),
        "meergezins: hoog": (238520, 188838, 296485, 209807, 205401, 184942),
    },
}
# The coarse periods of appendix A.1 and the Vesta build-year classes inside each, with the share
# of the period's dwellings given to each class: by number of years where both bounds are known,
# equal halves for 'voor 1946' (no year count for the open 'voor 1930').
DWELLING_PERIOD_SPLIT = (
    ("voor 1946", (("voor 1930", 0.5), ("1930 - 1945", 0.5))),
    ("1946-1965", (("1946 - 1964", 1.0),)),
    ("1965-1975", (("1965 - 1974", 1.0),)),
    ("1975-1992", (("1975 - 1991", 1.0),)),
    ("1992-2006", (("1992 - 1995", 4 / 14), ("1996 - 1999", 4 / 14), ("2000 - 2005", 6 / 14))),
    ("2006-2020", (("2006 - 2010", 5 / 15), ("2011 - 2014", 4 / 15), ("2015 - 2020", 6 / 15))),
)
# Appendix A.2: utility floor area (m2) per Vesta utility type and build period, 1 January 2019 and
# 2020. Columns: voor 1920, 1920-1975, 1975-1990, 1990-1995, na 1995, onbekend (= the periods of
# Utiliteiten_BAG.csv). The printed 'Totaal' column is not used (it is corrupt for Sport and later rows).
UTILITY_STOCK = {
    2019: {
        "Kantoor": (5572462, 14189769, 12306438, 7055798, 27567773, 411),
        "Winkel": (5113748, 14716974, 8122699, 3814189, 16094847, 0),
        "Gezondheidszorg": (800307, 5873891, 4059902, 1570725, 7430903, 0),
        "Logies": (1045830, 3311696, 2511427, 1249859, 5605071, 0),
        "Onderwijs": (1479546, 12526215, 7839088, 1929272, 12421007, 0),
        "Industrie": (1045228, 9500214, 9274314, 3556017, 24673947, 0),
        "Bijeenkomst": (6840218, 11324450, 4853374, 2406213, 7696817, 2902),
        "Sport": (296197, 3234194, 3803220, 1254118, 4675207, 420),
        "Overig": (1199869, 9898742, 4559551, 2075151, 15028640, 67),
        "Cel": (148004, 175940, 163423, 128677, 517700, 0),
    },
    2020: {
        "Kantoor": (5379405, 13904871, 12007219, 6981410, 27816237, 2028),
        "Winkel": (5026407, 14550455, 8089847, 3806925, 16222360, 0),
        "Gezondheidszorg": (808590, 5748194, 4054377, 1609947, 7574593, 0),
        "Logies": (1042580, 3316204, 2527809, 1287519, 5939248, 53),
        "Onderwijs": (1465971, 12256480, 7786613, 1939469, 12757620, 0),
        "Industrie": (1069452, 9587264, 9485447, 3686992, 27493719, 0),
        "Bijeenkomst": (6883552, 11272472, 4893423, 2435330, 7853123, 125),
        "Sport": (306233, 3170691, 3815768, 1272582, 4828609, 0),
        "Overig": (1159214, 9806935, 4451372, 2029512, 15400249, 139),
        "Cel": (165750, 175940, 169860, 143332, 505630, 0),
    },
}
UTILITY_PERIODS = ("0<=1920", "1920<=1975", "1975<=1990", "1990<=1995", "1995<=2019", "onbekend")


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    source: str
    note: str = ""
    low: float | None = None
    high: float | None = None
    year: int | None = None


# ---------------------------------------------------------------------------------------------------
# Readers of the published files


def _text(path: Path) -> str:
    if not path.is_file():
        raise InputError(str(path), "file not found")
    return path.read_text(encoding="utf-8", errors="replace")


def dms_scalar(path: Path, name: str) -> float:
    """``parameter<unit> name := 12.3[unit]`` in a GeoDMS configuration file."""
    match = re.search(rf"parameter<[^>]*>\s+{re.escape(name)}\s*:=\s*(-?[\d.]+)", _text(path))
    if not match:
        raise InputError(str(path), "parameter not found", field=name)
    return float(match.group(1))


def dms_min_max(path: Path, name: str) -> tuple[float, float]:
    """``name := Eff_max * a[unit] + Eff_min * b[unit]`` (Vermogens.dms): (a, b) = (at maximum, at
    minimum efficiency)."""
    pattern = rf"{re.escape(name)}\s*:=\s*Eff_max\s*\*\s*(-?[\d.]+)\[[^\]]*\]\s*\+\s*Eff_min\s*\*\s*(-?[\d.]+)"
    match = re.search(pattern, _text(path))
    if not match:
        raise InputError(str(path), "parameter not found", field=name)
    return float(match.group(1)), float(match.group(2))


def dms_ratio(path: Path, name: str) -> float:
    match = re.search(rf"parameter<ratio>\s+{re.escape(name)}\s*:=\s*(-?[\d.]+)", _text(path))
    if not match:
        raise InputError(str(path), "parameter not found", field=name)
    return float(match.group(1))


def learning_curves_2020(path: Path) -> dict[str, dict[str, list[float]]]:
    """Leercurves.dms: {'optimistic'|'pessimistic': {curve: [startjaar, 2020, 2030, 2040, 2050] in %}}."""
    text = _text(path)
    head, _, tail = text.partition("unit<uint8> Optimistisch")
    curves: dict[str, dict[str, list[float]]] = {}
    for key, block in (("pessimistic", head), ("optimistic", tail)):
        found: dict[str, list[float]] = {}
        for name, values in re.findall(r"attribute<percent>\s+(\w+)\s*:\s*\[([^\]]*)\]", block):
            found[name] = [float(v) for v in values.split(",")]
        default = found["Default"]
        for name in re.findall(r"attribute<percent>\s+(\w+)\s*:=\s*Default", block):
            found[name] = list(default)
        curves[key] = found
    return curves


def read_table(path: Path, separator: str | None = None) -> pl.DataFrame:
    """A published CSV, every column as text (separator sniffed from the header when not given)."""
    text = _text(path).lstrip("\ufeff")
    first = text.splitlines()[0]
    if separator is None:
        separator = max((";", ",", "\t"), key=first.count)
    frame = pl.read_csv(
        path,
        separator=separator,
        infer_schema_length=0,
        encoding="utf8-lossy",
        quote_char='"',
        truncate_ragged_lines=True,
    )
    return frame.rename({c: c.strip().lstrip("\ufeff").strip('"') for c in frame.columns})


def _number(frame: pl.DataFrame, where: Path, key_column: str, key: str, column: str) -> float:
    rows = frame.filter(pl.col(key_column).str.strip_chars() == key)
    if rows.is_empty():
        raise InputError(str(where), f"no row {key!r}", field=key_column)
    if column not in frame.columns:
        raise InputError(str(where), "column is missing", field=column)
    text = rows[column][0]
    try:
        return float(str(text).replace(",", "."))
    except ValueError as exc:
        raise InputError(str(where), f"not a number: {text!r}", record=key, field=column) from exc


class Kentallen:
    """The 2024 ``Naam;Waarde;Eenheid;Bron;Beschrijving`` files of vesta_kentallen/data/Kentallen."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.tables: dict[str, pl.DataFrame] = {}

    def get(self, file: str, name: str) -> float:
        if file not in self.tables:
            self.tables[file] = read_table(self.folder / f"20241015_{file}.csv", ";")
        return _number(self.tables[file], self.folder / f"20241015_{file}.csv", "Naam", name, "Waarde")

    def source(self, file: str, name: str, extra: str = "") -> str:
        return f"PBL Vesta MAIS kentallen 2024-10-15 (data/Kentallen/20241015_{file}.csv, {name}){extra}, {VESTA}"


def installation(path: Path, name: str, column: str) -> float:
    return _number(read_table(path, ";"), path, "name", name, column)


def performance(path: Path, name: str, label: str, product: str, column: str) -> float:
    table = read_table(path, ";")
    rows = table.filter(
        (pl.col("Installatie_name") == name)
        & (pl.col("schillabel_name") == label)
        & (pl.col("ProductType_name") == product)
    )
    if rows.is_empty():
        raise InputError(str(path), f"no row for {name} / {label} / {product}", field="Installatie_name")
    return float(rows[column][0])


def energy_price(folder: Path, variant: str, carrier: str, year: int, column: str) -> float:
    """One component of a KEV2019 price file (variant '' = central, 'GAlaag_', 'GAhoog_')."""
    path = folder / f"20200812_Energieprijzen_KEV2019_{variant}{carrier}.csv"
    return _number(read_table(path, ","), path, "Jaar", str(year), column)


# ---------------------------------------------------------------------------------------------------
# costs_general.csv


def _mean(low: float, high: float) -> float:
    return (low + high) / 2


def _rows_min_max(name: str, low: float, high: float, unit: str, source: str, note: str = "") -> Row:
    return Row(name, _mean(low, high), unit, source, note, min(low, high), max(low, high))


def general_rows_2020(shared: Path) -> list[Row]:  # noqa: PLR0915 - one declarative list
    sa = shared / SA_DIR
    kg = sa / "model" / "Kengetallen"
    infra, bc, verm, leer = kg / "Infra.dms", kg / "BCkentallen.dms", kg / "Vermogens.dms", kg / "Leercurves.dms"
    inst, perf = sa / "installaties" / "Installatie.csv", sa / "installaties" / "Performance.csv"
    src_inst = f"PBL Vesta Startanalyse 2020, installaties/Installatie.csv, row {{}}, {VESTA} @ VestaStartanalyse2020"
    src_perf = f"PBL Vesta Startanalyse 2020, installaties/Performance.csv, row {{}}, {VESTA} @ VestaStartanalyse2020"
    src_dms = f"PBL Vesta Startanalyse 2020, model/Kengetallen/{{}}.dms, {{}}, {VESTA} @ VestaStartanalyse2020"
    rows: list[Row] = []
    add = rows.append

    # Economics: national (maatschappelijke) and actor discount rates, lifetimes, VAT.
    add(
        Row(
            "discount_rate_national",
            0.03,
            "1/yr",
            f"{VESTA_CODE}, Runs/DefaultSettings/Basis.dms, container Discontovoet, mr = 3.0 [Percent_yr] "
            "('Maatschappelijke discontovoet')",
            "not in the shared VestaStartanalyse2020 folder; the functional design 3.0 (section 10.4) still says 4%",
        )
    )
    for name, value, note in (
        ("discount_rate_owner_occupier", 0.055, "Huishouden (gebouweigenaar)"),
        ("discount_rate_private_landlord", 0.055, "no separate rate in the Startanalyse: huishouden"),
        ("discount_rate_corporation", 0.055, "no separate rate in the Startanalyse: huishouden"),
        ("discount_rate_utility_owner", 0.08, "Utiliteit (gebouweigenaar)"),
    ):
        add(
            Row(
                name,
                value,
                "1/yr",
                f"{FO3}, section 10.4 (default-discontovoeten), and {VESTA_CODE} Basis.dms Discontovoet E_bw/E_bu",
                note,
            )
        )
    for name, value, where in (
        ("lifetime_building_shell", 30, "Kmi_gv annualised with NCW/mr30 (AllocatieResultatenComponent.dms)"),
        ("lifetime_installation", 15, "Ki15_LO annualised with NCW/mr15 (AllocatieResultatenComponent.dms)"),
        (
            "lifetime_ground_loop",
            30,
            "the AT30 share of Ki annualised with NCW/mr30 (AllocatieResultatenComponent.dms)",
        ),
        ("lifetime_low_temperature_emitters", 30, "Kmi_LTAS annualised with NCW/mr30 (Resultaten/Maatschappelijk.dms)"),
        (
            "lifetime_grid",
            50,
            "grid reinforcement and gas-grid removal annualised with NCW/mr50 (Resultaten/Netwerken.dms)",
        ),
        (
            "heat_network_first_year",
            2,
            "Investering/BeginOpbrengstJaar (Basis.dms): heat delivery starts 2 years after the network investment",
        ),
        (
            "heat_network_last_year",
            30,
            "Investering/EindOpbrengstJaar (Basis.dms); NCW ow28/wd28/mr28 from year 2 to 30 (RekenStapT.dms)",
        ),
    ):
        add(Row(name, value, "yr", f"{VESTA_CODE}, {where}", "", year=None))
    add(
        Row(
            "vat_rate",
            0.21,
            "fraction",
            f"{VESTA_CODE}, Basis.dms, VAT = 21 [Percent]",
            "BTW on installations and energy",
        )
    )
    add(
        Row(
            "vat_rate_building_improvement",
            0.15,
            "fraction",
            f"{VESTA_CODE}, Basis.dms, VAT_gv = 0.5 * (21.0 + 9.0)",
            "BTW on building improvement: half the work at the low 9% labour rate",
        )
    )
    add(
        Row(
            "weq_utility_floor_area",
            130.0,
            "m2 per woningequivalent",
            "PBL Vesta glossary (reference/startanalyse_gooi_vecht_2019/Vesta_Glossary.txt, "
            "i11_woningequivalenten) and "
            f"{VESTA_CODE} LeidraadResultaten/PlanregioResults.dms nrWEQ",
            "1 dwelling = 1 woningequivalent; utility floor area / 130 m2",
        )
    )

    # Learning curves: central = mean of optimistic and pessimistic (LeercurveMinMaxSchuif 0.5 in Basis.dms).
    curves = learning_curves_2020(leer)
    for name, curve in (
        ("learning_insulation_to_d_c", "Cmin"),
        ("learning_insulation_to_b", "Bpls"),
        ("learning_insulation_to_a", "Verder"),
        ("learning_heat_pump_air", "eWPlw"),
        ("learning_heat_pump_ground", "eWPww"),
        ("learning_hybrid_heat_pump", "hWP"),
        ("learning_boiler", "HR"),
        ("learning_low_temperature_emitters", "LTAS"),
        ("learning_heat_network", "MTnet"),
        ("learning_in_house", "Inpand"),
        ("learning_heat_connections", "Aansl"),
        ("learning_lt_source", "LTnet"),
        ("learning_geothermal", "Geothermie"),
        ("learning_grid", "Infra"),
        ("learning_maintenance", "OenM"),
    ):
        for index, year in ((1, 2020), (2, 2030), (3, 2040), (4, 2050)):
            optimistic = curves["optimistic"][curve][index] / 100
            pessimistic = curves["pessimistic"][curve][index] / 100
            add(
                Row(
                    name,
                    _mean(optimistic, pessimistic),
                    "factor on investment cost",
                    src_dms.format("Leercurves", f"curve {curve} (Optimistisch/Pessimistisch)"),
                    "central = mean of optimistic (low) and pessimistic (high), LeercurveMinMaxSchuif = 0.5",
                    optimistic,
                    pessimistic,
                    year,
                )
            )

    # Installations, dwellings (_w) and utility (_u); central = mean of min and max (VerbeterMinMaxSchuif 0.5).
    def inst_pair(row: str, a: str, b: str) -> tuple[float, float]:
        return installation(inst, row, a), installation(inst, row, b)

    for name, row, cols, unit in (
        ("boiler_invest_fixed", "HR", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling"),
        ("boiler_invest_per_kw_utility", "HR", ("Ki_cap_min_u", "Ki_cap_max_u"), "EUR per kW"),
        ("heat_pump_air_invest_fixed", "eWP_lw", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling"),
        ("heat_pump_air_invest_per_kw", "eWP_lw", ("Ki_cap_min_w", "Ki_cap_max_w"), "EUR per kW"),
        ("heat_pump_air_invest_fixed_utility", "eWP_lw_u", ("Ki_asl_min_u", "Ki_asl_max_u"), "EUR per utility object"),
        ("heat_pump_air_invest_per_kw_utility", "eWP_lw_u", ("Ki_cap_min_u", "Ki_cap_max_u"), "EUR per kW"),
        ("heat_pump_ground_invest_fixed", "eWP_bw", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling"),
        ("heat_pump_ground_invest_per_kw", "eWP_bw", ("Ki_cap_min_w", "Ki_cap_max_w"), "EUR per kW"),
        (
            "heat_pump_ground_invest_fixed_utility",
            "eWP_bw_uK",
            ("Ki_asl_min_u", "Ki_asl_max_u"),
            "EUR per utility object",
        ),
        ("heat_pump_ground_invest_per_kw_utility", "eWP_bw_uK", ("Ki_cap_min_u", "Ki_cap_max_u"), "EUR per kW"),
        ("hybrid_heat_pump_invest_fixed", "BasisHWP_w", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling"),
        ("hybrid_heat_pump_invest_per_kw", "BasisHWP_w", ("Ki_cap_min_w", "Ki_cap_max_w"), "EUR per kW"),
    ):
        low, high = inst_pair(row, *cols)
        add(
            _rows_min_max(
                name,
                low,
                high,
                unit,
                src_inst.format(row) + f", columns {cols[0]}/{cols[1]}",
                "central = mean of min and max (VerbeterMinMaxSchuif 0.5)",
            )
        )
    add(
        Row(
            "ground_loop_share",
            installation(inst, "eWP_bw", "AT30"),
            "fraction of investment",
            src_inst.format("eWP_bw") + ", column AT30",
            "share of a ground-source heat pump's investment with a 30-year lifetime (the borehole)",
        )
    )
    for name, row in (
        ("maintenance_rate_boiler", "HR"),
        ("maintenance_rate_heat_pump_air", "eWP_lw"),
        ("maintenance_rate_heat_pump_ground", "eWP_bw"),
        ("maintenance_rate_hybrid", "BasisHWP_w"),
        ("maintenance_rate_heat_pump_utility", "eWP_lw_u"),
        ("maintenance_rate_heat_pump_ground_utility", "eWP_bw_uK"),
    ):
        add(
            Row(
                name,
                installation(inst, row, "R_OH"),
                "fraction of investment per yr",
                src_inst.format(row) + ", column R_OH",
                "yearly maintenance as a share of the investment",
            )
        )
    for name, parameter, unit in (
        ("low_temperature_emitters_invest_ground_level", "Ki_LTAS_wl", "EUR per dwelling"),
        ("low_temperature_emitters_invest_apartment", "Ki_LTAS_wh", "EUR per dwelling"),
        ("low_temperature_emitters_invest_utility", "Ki_LTAS_u", "EUR per m2"),
    ):
        low, high = dms_scalar(bc, f"{parameter}_min"), dms_scalar(bc, f"{parameter}_max")
        add(
            _rows_min_max(
                name,
                low,
                high,
                unit,
                src_dms.format("BCkentallen", f"{parameter}_min/_max"),
                "low-temperature emitters (LTAS) for heat pumps and 50 C heat",
            )
        )

    # Performance: SPF per label (Performance.csv), shares and capacities.
    for label, suffix in (("A", "a"), ("B", "b"), ("C", "c"), ("x", "other")):
        add(
            Row(
                f"heat_pump_air_spf_space_{suffix}",
                performance(perf, "eWP_lw", label, "RV", "SPF_b"),
                "GJ heat per GJ e",
                src_perf.format(f"eWP_lw / {label} / RV"),
                "seasonal performance, space heating",
            )
        )
        ground_label = label if label != "x" else "C"
        add(
            Row(
                f"heat_pump_ground_spf_space_{suffix}",
                performance(perf, "eWP_bw", ground_label, "RV", "SPF_b"),
                "GJ heat per GJ e",
                src_perf.format(f"eWP_bw / {ground_label} / RV"),
                "seasonal performance, space heating"
                + ("; no row below C, the C value is used" if label == "x" else ""),
            )
        )
        add(
            Row(
                f"hybrid_heat_pump_spf_space_{suffix}",
                performance(perf, "BasisHWP_w", label if label != "x" else "D", "RV", "SPF_b"),
                "GJ heat per GJ e",
                src_perf.format(f"BasisHWP_w / {label if label != 'x' else 'D'} / RV"),
                "seasonal performance of the heat-pump part of a hybrid",
            )
        )
    add(
        Row(
            "heat_pump_air_spf_hot_water",
            performance(perf, "eWP_lw", "x", "TW", "SPF_b"),
            "GJ heat per GJ e",
            src_perf.format("eWP_lw / x / TW"),
            "",
        )
    )
    add(
        Row(
            "heat_pump_ground_spf_hot_water",
            performance(perf, "eWP_bw", "x", "TW", "SPF_b"),
            "GJ heat per GJ e",
            src_perf.format("eWP_bw / x / TW"),
            "",
        )
    )
    add(
        Row(
            "hybrid_heat_pump_space_share",
            performance(perf, "BasisHWP_w", "B", "RV", "P_vol"),
            "fraction",
            src_perf.format("BasisHWP_w / B / RV") + ", P_vol",
            "share of space heating delivered by the heat pump",
        )
    )
    add(
        Row(
            "hybrid_heat_pump_capacity_share",
            performance(perf, "BasisHWP_w", "B", "RV", "P_cap"),
            "fraction",
            src_perf.format("BasisHWP_w / B / RV") + ", P_cap",
            "heat-pump capacity as a share of the space-heating connection capacity",
        )
    )
    add(
        Row(
            "boiler_efficiency_space",
            performance(perf, "HR", "x", "RV", "SPF_b"),
            "GJ heat per GJ gas (LHV)",
            src_perf.format("HR / x / RV"),
            "",
        )
    )
    add(
        Row(
            "boiler_efficiency_hot_water",
            performance(perf, "HR", "x", "TW", "SPF_b"),
            "GJ heat per GJ gas (LHV)",
            src_perf.format("HR / x / TW"),
            "",
        )
    )
    add(
        Row(
            "heat_pump_air_spf_space_utility",
            performance(perf, "eWP_lw_u", "x", "RV", "SPF_b"),
            "GJ heat per GJ e",
            src_perf.format("eWP_lw_u / x / RV"),
            "",
        )
    )
    add(
        Row(
            "heat_pump_ground_spf_space_utility",
            performance(perf, "eWP_bw_uK", "x", "RV", "SPF_b"),
            "GJ heat per GJ e",
            src_perf.format("eWP_bw_uK / x / RV"),
            "",
        )
    )
    add(
        Row(
            "heat_pump_spf_hot_water_utility",
            performance(perf, "eWP_lw_u", "x", "TW", "SPF_b"),
            "GJ heat per GJ e",
            src_perf.format("eWP_lw_u / x / TW"),
            "",
        )
    )
    add(
        Row(
            "hybrid_heat_pump_spf_space_utility",
            performance(perf, "hWP_lw_u", "x", "RV", "SPF_b"),
            "GJ heat per GJ e",
            src_perf.format("hWP_lw_u / x / RV"),
            "",
        )
    )
    add(
        Row(
            "hybrid_heat_pump_space_share_utility",
            performance(perf, "hWP_lw_u", "x", "RV", "P_vol"),
            "fraction",
            src_perf.format("hWP_lw_u / x / RV") + ", P_vol",
            "",
        )
    )
    add(
        Row(
            "hybrid_heat_pump_capacity_share_utility",
            performance(perf, "hWP_lw_u", "x", "RV", "P_cap"),
            "fraction",
            src_perf.format("hWP_lw_u / x / RV") + ", P_cap",
            "",
        )
    )

    # Connection capacities (Vermogens.dms, EfficiencySchuif 0.5: mean of the values at max and min efficiency).
    for name, parameter, unit in (
        ("space_heating_capacity_ground_level_fixed", "ASW_RVmt_wl_asl", "kW per dwelling"),
        ("space_heating_capacity_ground_level_per_m2", "ASW_RVmt_wl_opp", "kW per m2"),
        ("space_heating_capacity_apartment_fixed", "ASW_RVmt_wh_asl", "kW per dwelling"),
        ("space_heating_capacity_apartment_per_m2", "ASW_RVmt_wh_opp", "kW per m2"),
        ("space_heating_capacity_utility_per_m2", "ASW_RVmt_u_opp", "kW per m2"),
        ("hot_water_capacity_ground_level", "ASW_TWmt_wl_asl", "kW per dwelling"),
        ("hot_water_capacity_apartment", "ASW_TWmt_wh_asl", "kW per dwelling"),
        ("hot_water_capacity_utility_per_m2", "ASW_TWmt_u_opp", "kW per m2"),
        ("grid_capacity_appliances_dwelling", "ASW_Eapp_wl_asl", "kW per dwelling"),
        ("grid_capacity_heat_pump_dwelling", "ASW_Eewp_wl_asl", "kW per dwelling"),
        ("grid_capacity_hybrid_dwelling", "ASW_Ehwp_wl_asl", "kW per dwelling"),
        ("grid_capacity_appliances_utility_per_m2", "ASW_Eapp_u_opp", "kW per m2"),
        ("grid_capacity_heat_pump_utility_per_m2", "ASW_Eewp_u_opp", "kW per m2"),
        ("grid_capacity_hybrid_utility_per_m2", "ASW_Ehwp_u_opp", "kW per m2"),
    ):
        at_max, at_min = dms_min_max(verm, parameter)
        add(
            _rows_min_max(
                name,
                at_max,
                at_min,
                unit,
                src_dms.format("Vermogens", parameter),
                "central at EfficiencySchuif 0.5 (mean of the values at maximum and minimum efficiency)",
            )
        )
    for name, parameter in (
        ("grid_simultaneity_dwelling", "GTF_w_Enet"),
        ("grid_simultaneity_utility", "GTF_u_Enet"),
        ("heat_simultaneity_space_dwelling", "GTF_w_RVmt"),
        ("heat_simultaneity_hot_water_dwelling", "GTF_w_TW"),
        ("heat_simultaneity_space_utility", "GTF_u_RVmt"),
        ("heat_simultaneity_hot_water_utility", "GTF_u_TW"),
    ):
        add(
            Row(
                name,
                dms_ratio(verm, parameter),
                "fraction",
                src_dms.format("Vermogens", parameter),
                "gelijktijdigheidsfactor",
            )
        )

    # Electricity and gas grid (grid operators' note 2019, used by the Startanalyse 2020).
    for name, value, unit, what in (
        ("grid_new_substation_cost", 70000.0, "EUR per MS-ruimte", "Kosten plaatsen nieuwe MS-ruimte"),
        ("grid_new_substation_capacity", 630.0, "kVA per MS-ruimte", "Capaciteit van een nieuwe MS-ruimte"),
        ("grid_lv_reinforcement_cost_per_m", 110.0, "EUR per m", "Kosten verzwaren LS-net"),
        ("grid_connection_upgrade_cost", 227.0, "EUR per connection", "Kosten verzwaren aansluiting naar 3x25"),
        ("gas_connection_removal_low_rise", 550.0, "EUR per connection", "Kosten verwijderen gasaansluiting laagbouw"),
        ("gas_connection_removal_high_rise", 182.0, "EUR per connection", "Kosten verwijderen gasaansluiting hoogbouw"),
        ("gas_connection_removal_utility", 1932.0, "EUR per connection", "Kosten verwijderen gasaansluiting utiliteit"),
        ("gas_main_removal_cost_per_m", 100.0, "EUR per m", "Kosten verwijderen LD-gasnet"),
    ):
        add(Row(name, value, unit, f"{GRID_NOTE}: {what}", "excl. VAT"))
    add(
        Row(
            "grid_share_connections_3x25",
            0.0,
            "fraction",
            "assumption (wup-pipeline): no national figure in the Startanalyse 2020 inputs",
            "the grid operators deliver fractie_3x25_aansl per buurt; without it every all-electric dwelling is "
            "upgraded (227 EUR, a small term)",
        )
    )
    add(
        Row(
            "ld_gas_network_length_nl",
            dms_scalar(infra, "Km_lengte_LD_net_NL"),
            "km",
            src_dms.format("Infra", "Km_lengte_LD_net_NL"),
            "national low-pressure gas grid; per woningequivalent it stands in for a buurt's own length",
        )
    )
    add(
        Row(
            "lv_network_length_nl",
            dms_scalar(infra, "Km_lengte_LS_net_NL"),
            "km",
            src_dms.format("Infra", "Km_lengte_LS_net_NL"),
            "national low-voltage grid",
        )
    )
    for name, parameter in (
        ("gas_network_maintenance_transmission_nl", "Kj_oh_trans_g"),
        ("gas_network_maintenance_distribution_nl", "Kj_oh_distr_g"),
    ):
        add(
            Row(
                name,
                dms_scalar(infra, parameter),
                "MEUR per yr",
                src_dms.format("Infra", parameter),
                "national gas-network maintenance; per metre of LD grid it is what a buurt saves when its gas "
                "grid goes",
            )
        )
    for name, parameter in (
        ("gas_fixed_charge_standing", "Vastrecht_g"),
        ("gas_fixed_charge_connection", "PA_g"),
        ("gas_fixed_charge_meter", "meterhuur_g"),
        ("gas_fixed_charge_capacity", "capaciteitstarief_g"),
        ("gas_fixed_charge_supply", "Leveringstarief_g"),
    ):
        add(
            Row(
                name,
                dms_scalar(infra, parameter),
                "EUR per connection per yr",
                src_dms.format("Infra", parameter),
                "end-user fixed charge of a gas connection, excl. VAT; saved when the connection goes",
            )
        )
    add(
        Row(
            "utility_floor_area_per_object",
            _utility_area_per_object(shared),
            "m2 per utility object",
            "BAG verblijfsobjecten of the Den Haag test area "
            "(bag_testarea_denhaag/bag_verblijfsobject_testarea.csv, via "
            "3DGI/wijklabels @ b937ab1): mean gebruiksoppervlakte of objects in use without woonfunctie, industry-only "
            "excluded",
            "used only when a buurt's number of utility objects is not given",
        )
    )

    # Energy: conversion, CO2 and prices.
    add(
        Row(
            "gas_lower_heating_value",
            31.65,
            "MJ per m3",
            f"{FO3}, formula 10 (energy content 31,65 MJ/m3 on lower heating value)",
            "",
        )
    )
    add(
        Row(
            "co2_gas",
            energy_price(sa / "data", "", "Aardgas", 2030, "RAT_CO2_KWH"),
            "kg CO2 per m3",
            KEV2019.format("Aardgas") + ", column RAT_CO2_KWH",
            "only gas CO2 counts, as in the Startanalyse (PlanregioResults.dms: New_CO2_ton = gas of buildings and "
            "area options); green gas and electricity count as zero",
        )
    )
    rows += _price_rows(sa / "data", PRICE_YEARS, taxes=True)
    add(
        Row(
            "electricity_tax_credit",
            420.14,
            "EUR per connection per yr",
            f"{RELEASE_NOTES}, section 3.3",
            "heffingskorting; the same in every route, so it drops out of every extra cost",
        )
    )

    # Heat networks (functional design 3.0 and TypeInfo.csv of the 2020 model).
    rows += _heat_network_rows_2020(sa)

    # End users: split incentive, rent, heat tariffs, subsidies, financing.
    add(
        Row(
            "split_incentive_landlord_share",
            0.8,
            "fraction",
            f"{VESTA_CODE}, Basis.dms, EIA/EigenarenBasis/R_SplitIncentiveFactor",
            "share of the tenant's avoided energy cost the landlord receives as rent",
        )
    )
    add(
        Row(
            "rent_reduction_collective_heat",
            dms_scalar(bc, "Kj_hv_w"),
            "EUR per dwelling per yr",
            src_dms.format("BCkentallen", "Kj_hv_w"),
            "lower legal maximum rent when the individual gas connection goes",
        )
    )
    add(
        Row(
            "rent_reduction_share",
            0.5,
            "fraction",
            f"{VESTA_CODE}, Basis.dms, HuurVerlagingBijGebiedsOptieSchuif",
            "share of the maximum rent reduction applied",
        )
    )
    for name, value, what in (
        ("heat_fixed_charge_mt", 373.9, "Vastrecht warmtelevering MT"),
        ("heat_fixed_charge_lt", 208.0, "Vastrecht warmtelevering LT"),
        ("heat_metering_charge", 21.2, "Meettarief"),
        ("heat_connection_fee", 3594.9, "Aansluitbijdrage"),
    ):
        add(
            Row(
                name,
                value,
                "EUR per connection" + (" per yr" if "fee" not in name else ""),
                f"{RELEASE_NOTES}, section 3.2, table Warmtetarieven, {what} (Vesta 5.0, euro2018, "
                "ACM Warmtebesluit 2020)",
                "end-user heat tariff, excl. VAT",
            )
        )
    add(
        Row(
            "isde_heat_pump_fixed",
            1750.0,
            "EUR per heat pump",
            f"{VESTA_CODE}, Basis.dms, EIA/EigenarenBasis/ISDE_eWP (RVO ISDE warmtepompen)",
            "one-off purchase subsidy; range 1000-2500",
            1000.0,
            2500.0,
        )
    )
    add(
        Row(
            "isde_heat_pump_per_kw",
            0.0,
            "EUR per kW above the threshold",
            f"{VESTA_CODE}, Basis.dms ISDE_eWP",
            "the 2019/2020 model used a flat amount",
        )
    )
    add(
        Row(
            "isde_heat_pump_kw_threshold",
            1.0,
            "kW",
            "RVO, ISDE: Wat wijzigt er in 2025 (per-kW amount counts kW above the first)",
            "unused while isde_heat_pump_per_kw is 0",
        )
    )
    rows += _financing_rows("not part of the Startanalyse; the current Warmtefonds terms are used in both sets")
    add(
        Row(
            "koppelkans_trench_cost_per_m",
            100.0,
            "EUR per m of shared trench",
            f"{GRID_NOTE}: Kosten verwijderen LD-gasnet",
            "cost of opening and closing a street trench, taken as the grid operators' cost of removing a LD gas main "
            "(a job that is essentially the trench); saved per metre of trench that coincides with planned sewer, road "
            "or gas-main works (koppelkansen)",
        )
    )
    return rows


def _utility_area_per_object(shared: Path) -> float:
    path = shared / "bag_testarea_denhaag" / "bag_verblijfsobject_testarea.csv"
    frame = read_table(path, ",")
    in_use = frame.filter(
        pl.col("status").is_in(["Verblijfsobject in gebruik", "Verbouwing verblijfsobject"])
        & ~pl.col("gebruiksdoel").str.contains("woonfunctie")
        & (pl.col("gebruiksdoel") != "industriefunctie")
    )
    return round(float(in_use["oppervlakte_m2"].cast(pl.Float64).mean()), 1)


def _price_rows(folder: Path, years: tuple[int, ...], taxes: bool, tax_note: str = "") -> list[Row]:
    """KEV2019 prices per year: national price = commodity + network + CO2 component (excl. energy tax,
    SDE/ODE surcharge and VAT), as Vesta's 'maatschappelijk' price (EnergiePrijzen.dms); low/high =
    the GAlaag/GAhoog variants of the Startanalyse sensitivity analysis."""
    rows = []
    for carrier, name, unit in (
        ("Aardgas", "gas", "EUR per m3"),
        ("GroenGas", "green_gas", "EUR per m3"),
        ("Elek", "electricity", "EUR per kWh"),
        ("GroenElek", "green_electricity", "EUR per kWh"),
    ):
        for size, size_name in (("KG", "small"), ("KMG", "medium")):
            for year in years:
                values = []
                for variant in ("", "GAlaag_", "GAhoog_"):
                    values.append(
                        sum(
                            energy_price(folder, variant, carrier, year, f"{size}_PC_{part}")
                            for part in ("COM_EXCL_CO2", "NET", "CO2")
                        )
                    )
                rows.append(
                    Row(
                        f"{name}_price_national_{size_name}",
                        values[0],
                        unit,
                        KEV2019.format(carrier) + f", {size}_PC_COM_EXCL_CO2 + {size}_PC_NET + {size}_PC_CO2; "
                        "low/high: the GAlaag_/GAhoog_ files",
                        "national (maatschappelijke) price: supply incl. "
                        f"overheads, excl. energy tax, SDE/ODE and VAT; {size} = "
                        f"{'small users (dwellings)' if size == 'KG' else 'small-medium users (utility)'}",
                        min(values[1:] + values[:1]),
                        max(values[1:] + values[:1]),
                        year,
                    )
                )
    if taxes:
        for carrier, name, unit in (("Aardgas", "gas", "EUR per m3"), ("Elek", "electricity", "EUR per kWh")):
            for size, size_name in (("KG", "small"), ("KMG", "medium")):
                for year in years:
                    for part, what in (("BEL_EL", "energy_tax"), ("SDE", "sde_surcharge")):
                        rows.append(
                            Row(
                                f"{name}_{what}_{size_name}",
                                energy_price(folder, "", carrier, year, f"{size}_PC_{part}"),
                                unit,
                                KEV2019.format(carrier) + f", {size}_PC_{part}",
                                tax_note
                                or ("energiebelasting" if part == "BEL_EL" else "opslag duurzame energie (ODE/SDE)"),
                                year=year,
                            )
                        )
    return rows


def _financing_rows(note: str) -> list[Row]:
    source = (
        "Nationaal Warmtefonds, Energiebespaarlening (warmtefonds.nl, 2025: example effective rate 4,35%; "
        "0% below a verzamelinkomen of EUR 60.000; EUR 1.000-27.000; terms 7-20 years)"
    )
    return [
        Row("warmtefonds_rate", 0.0435, "1/yr", source, note),
        Row("warmtefonds_rate_low_income", 0.0, "1/yr", source, note),
        Row("warmtefonds_income_threshold", 60000.0, "EUR household income per yr", source, note),
        Row("warmtefonds_max_loan", 27000.0, "EUR", source, note + "; the rest is paid up front"),
        Row("warmtefonds_term", 15.0, "yr", source, note + "; 15 years chosen as the middle term"),
    ]


def _heat_network_rows_2020(sa: Path) -> list[Row]:
    typeinfo = read_table(sa / "data" / "TypeInfo.csv", ";")
    where = sa / "data" / "TypeInfo.csv"
    tsrc = f"PBL Vesta Startanalyse 2020, data/TypeInfo.csv, row {{}}, {VESTA} @ VestaStartanalyse2020"
    fo = FO3
    rows = [
        Row(
            "heat_connection_ground_level",
            5000.0,
            "EUR per dwelling",
            f"{fo}, C.3.2.1 (aansluiting eengezinswoning)",
            "connection of a single-family dwelling to the distribution network",
        ),
        Row(
            "heat_connection_apartment", 2700.0, "EUR per dwelling", f"{fo}, C.3.2.1 (aansluiting meergezinswoning)", ""
        ),
        Row(
            "heat_in_house_apartment",
            5308.0,
            "EUR per dwelling",
            f"{fo}, table 9 (fysieke aansluitmaatregelen, gestapelde bouw zonder blokverwarming)",
            "risers, delivery set, connection to the existing installation",
        ),
        Row(
            "heat_removal_old_installation",
            500.0,
            "EUR per dwelling",
            f"{fo}, tables 9/10 (verwijderen bestaande installatie)",
            "",
        ),
        Row(
            "heat_project_costs",
            375.0,
            "EUR per dwelling",
            f"{fo}, tables 9/10 (ongeriefsvergoeding 125 + projectmanagement 250)",
            "",
        ),
        Row(
            "heat_connection_utility_per_m2",
            20.0,
            "EUR per m2",
            f"{fo}, formula 55 (inpandige afleverset + aansluitleiding utiliteit, 20 euro/m2 bvo)",
            "the functional design lets it fall to 0 at 7,500 m2; kept flat here",
        ),
        Row("heat_substation_cost_per_kw", 100.0, "EUR per kW", f"{fo}, formula 22 (K_OS/kW incl. behuizing)", ""),
        Row("heat_substation_peak_loss", 0.05, "fraction", f"{fo}, formula 25 (piekverliesfactor beta)", ""),
        Row("heat_substation_capacity", 825.0, "kW", f"{fo}, formula 21 (P_const of a standard onderstation)", ""),
        Row(
            "heat_pipe_cost_min_coefficient",
            215.5,
            "EUR per m at 1 MW",
            f"{fo}, formula 31 (minimumcurve)",
            "K_buis = a * P[MW]^b, incl. resurfacing",
        ),
        Row("heat_pipe_cost_min_exponent", 0.4828, "-", f"{fo}, formula 31 (minimumcurve)", ""),
        Row("heat_pipe_cost_max_coefficient", 379.29, "EUR per m at 1 MW", f"{fo}, formula 31 (maximumcurve)", ""),
        Row("heat_pipe_cost_max_exponent", 0.4739, "-", f"{fo}, formula 31 (maximumcurve)", ""),
        Row(
            "heat_transfer_station_cost_per_mw",
            125000.0,
            "EUR per MW",
            f"{fo}, formula 34 (WOS + HWK)",
            "warmteoverdrachtstation with peak boilers",
        ),
        Row("heat_transfer_station_capacity_share", 0.85, "fraction", f"{fo}, formula 34", ""),
        Row(
            "heat_source_capacity_share",
            0.3,
            "fraction",
            f"{fo}, formula 37 / footnote 29 (30% of the capacity from the main source)",
            "",
        ),
        Row("heat_source_volume_share", 0.8, "fraction", f"{fo}, formula 35 (N1, percentage grootschalige warmte)", ""),
        Row("heat_network_loss", 0.2, "fraction", f"{fo}, formula 35 (N3, warmteverliespercentage)", ""),
        Row(
            "heat_peak_boiler_efficiency",
            0.925,
            "GJ heat per GJ gas",
            f"{fo}, formula 35 (eta ketel)",
            "peak boilers burn green gas in the Startanalyse 2020 (release notes, section 2.5)",
        ),
        Row(
            "heat_distribution_length_per_connection",
            15.0,
            "m per connection",
            f"{fo}, footnote 31 (gemiddelde lengte distributienet 15 m per aansluiting)",
            "used with the street network below when no buurt length is given",
        ),
        Row(
            "maintenance_rate_heat_source",
            0.05,
            "fraction of investment per yr",
            f"{fo}, C.3.1 (nieuwe bron, uitkoppeling: 5%)",
            "",
        ),
        Row(
            "maintenance_rate_heat_transfer_station",
            0.03,
            "fraction of investment per yr",
            f"{fo}, C.3.1 (WOS + HWK)",
            "",
        ),
        Row("maintenance_rate_heat_substation", 0.03, "fraction of investment per yr", f"{fo}, C.3.1 (OS)", ""),
        Row("maintenance_rate_heat_network", 0.01, "fraction of investment per yr", f"{fo}, C.3.1 (secundair net)", ""),
        Row(
            "maintenance_rate_heat_in_house",
            0.025,
            "fraction of investment per yr",
            f"{fo}, C.3.1 (distributienet)",
            "",
        ),
        Row(
            "heat_supplier_admin_share",
            0.25,
            "fraction of fixed charges",
            f"{fo}, C.3.1 (administratieve lasten, default 25% of the vastrecht)",
            "",
        ),
        Row(
            "heat_pump_energy_share",
            0.0072,
            "GJ e per GJ heat",
            f"PBL Vesta MAIS kentallen 2024-10-15 (Efficiency.csv, Pompenergie_Wnet), {VESTA}",
            "not in the 2020 shared files; the 2024 value",
        ),
        Row("collective_heat_pump_spf", 3.5, "GJ heat per GJ e", f"{fo}, formula 58 (SPFc default 3,5)", ""),
        Row(
            "wko_source_cost_per_kw",
            1133.0,
            "EUR per kW",
            f"{fo}, formula 57 (WKO-bron plus centrale warmtepomp, 1.133 euro/kW gelijktijdige warmtevraag)",
            "",
        ),
        Row("wko_source_minimum_cost", 400000.0, "EUR", f"{fo}, formula 57 (minimuminvestering)", ""),
        Row("wko_maintenance_per_connection", 5.0, "EUR per connection per yr", f"{fo}, formula 59", ""),
        Row(
            "collective_heat_pump_cost_per_kw",
            1250.0,
            "EUR per kW",
            f"PBL Vesta MAIS kentallen 2024-10-15 (LT_warmtenetten.csv, Ki_eWP_coll_min_i/_max_i 1000/1500), {VESTA}",
            "not in the 2020 shared files; the "
            "2024 value for the collective heat pump of a LT network on a 30 C source",
            1000.0,
            1500.0,
        ),
        Row(
            "teo_source_cost_fixed",
            1115000.0,
            "EUR",
            f"PBL Vesta MAIS kentallen 2024-10-15 (LT_warmtenetten.csv, "
            f"Ki_TEO_vast_min_i/_max_i 670000/1560000), {VESTA}",
            "not in the 2020 shared files; the 2024 value",
            670000.0,
            1560000.0,
        ),
        Row(
            "teo_source_cost_per_kw",
            135.0,
            "EUR per kW",
            f"PBL Vesta MAIS kentallen 2024-10-15 (LT_warmtenetten.csv, Ki_TEO_var_min_i/_max_i 125/145), {VESTA}",
            "not in the 2020 shared files; the 2024 value",
            125.0,
            145.0,
        ),
        Row(
            "booster_heat_pump_invest",
            2393.0,
            "EUR per dwelling",
            f"{RELEASE_NOTES}, section 3.7 (boosterwarmtepomp: 2393 euro, bandbreedte 2226-2561)",
            "hot water at 50 C networks",
            2226.0,
            2561.0,
        ),
        Row("booster_heat_pump_spf", 4.4, "GJ heat per GJ e", f"{RELEASE_NOTES}, section 3.7 (SPF 2,75 -> 4,4)", ""),
    ]
    for name, source_type in (("residual_heat", "Industrie"), ("geothermal", "Geothermie")):
        low = _number(typeinfo, where, "Type", source_type, "K_kW_min")
        high = _number(typeinfo, where, "Type", source_type, "K_kW_max")
        rows.append(
            _rows_min_max(
                f"{name}_source_cost_per_kw",
                low,
                high,
                "EUR per kW",
                tsrc.format(source_type) + ", K_kW_min/K_kW_max",
                "investment at the source (uitkoppeling for residual heat; doublet for geothermal)",
            )
        )
        rows.append(
            Row(
                f"maintenance_rate_{name}_source",
                _number(typeinfo, where, "Type", source_type, "JaarKosten"),
                "fraction of investment per yr",
                tsrc.format(source_type) + ", JaarKosten",
                "",
            )
        )
    rows.append(
        Row(
            "geothermal_electricity_per_heat",
            1 / 23.04,
            "GJ e per GJ heat",
            f"{RELEASE_NOTES}, section 3.5 (COP geothermie 23,04, SDE++ 2020) and model/Kengetallen/WarmteBronnen.dms",
            "",
        )
    )
    rows.append(
        Row(
            "residual_heat_electricity_per_heat",
            0.0000025,
            "GJ e per GJ heat",
            "PBL Vesta Startanalyse 2020, model/Kengetallen/WarmteBronnen.dms, RekenTypes/Industrie "
            "(0.0000025 GJ/GJ times the electricity price)",
            "residual heat itself costs (almost) nothing",
        )
    )
    return rows


def general_rows_default(shared: Path) -> list[Row]:  # noqa: PLR0915 - one declarative list
    kt = shared / KT_DIR
    k = Kentallen(kt / "data" / "Kentallen")
    inst = kt / "installaties" / "Installatie.csv"
    perf = kt / "installaties" / "Performance.csv"
    src_inst = f"PBL Vesta MAIS 2024, installaties/Installatie.csv, row {{}}, {VESTA}"
    src_perf = f"PBL Vesta MAIS 2024, installaties/Performance.csv, row {{}}, {VESTA}"
    rows: list[Row] = []
    add = rows.append
    add(
        Row(
            "discount_rate_national",
            0.0225,
            "1/yr",
            "Ministerie van Financiën, Rapport werkgroep discontovoet 2020 "
            "(standaard discontovoet 2,25% voor maatschappelijke kosten-batenanalyses)",
            "",
        )
    )
    rates = read_table(kt / "Eindgebruikerskosten" / "rentepercentages.csv")
    rates_path = kt / "Eindgebruikerskosten" / "rentepercentages.csv"
    for name, column in (
        ("discount_rate_owner_occupier", "koop"),
        ("discount_rate_private_landlord", "parthuur"),
        ("discount_rate_corporation", "wooncorp"),
    ):
        add(
            Row(
                name,
                _number(rates, rates_path, "jaar", "2024", column) / 100,
                "1/yr",
                f"PBL Vesta MAIS 2024, Eindgebruikerskosten/rentepercentages.csv, jaar 2024, column {column}, {VESTA}",
                "the actor's financing rate used as its discount rate",
            )
        )
    add(Row("discount_rate_utility_owner", 0.08, "1/yr", f"{FO3}, section 10.4", "no newer value in vesta_kentallen"))
    # Lifetimes, VAT and the WEQ convention are model settings, unchanged since 2020.
    for row in general_rows_2020_static():
        add(row)

    # Learning curves 2024 (Leercurve/Leercurves_v2.csv): index relative to 2024, the price level of the costs.
    curves = {
        variant: read_table(kt / "Leercurve" / f"Leercurves{suffix}.csv", "\t")
        for variant, suffix in (("central", "_v2"), ("low", "_low_v2"), ("high", "_high_v2"))
    }
    for name, subject in (
        ("learning_insulation_to_d_c", "isolatie"),
        ("learning_insulation_to_b", "isolatie"),
        ("learning_insulation_to_a", "isolatie"),
        ("learning_heat_pump_air", "warmtepomp"),
        ("learning_heat_pump_ground", "warmtepomp"),
        ("learning_hybrid_heat_pump", "warmtepomp"),
        ("learning_boiler", "Default"),
        ("learning_low_temperature_emitters", "Default"),
        ("learning_heat_network", "Default"),
        ("learning_in_house", "Default"),
        ("learning_heat_connections", "Default"),
        ("learning_lt_source", "Default"),
        ("learning_geothermal", "Default"),
        ("learning_grid", "Default"),
        ("learning_maintenance", "Default"),
    ):
        for year in (2024, 2030, 2040, 2050):
            values = {}
            for variant, table in curves.items():
                row = table.filter(pl.col("onderwerp") == subject).head(1)
                if row.is_empty():
                    raise InputError(f"Leercurve/Leercurves {variant}", f"no row {subject!r}", field="onderwerp")
                values[variant] = float(row[str(year)][0]) / float(row[str(PRICE_LEVEL_YEAR_DEFAULT)][0])
            add(
                Row(
                    name,
                    values["central"],
                    "factor on investment cost",
                    f"PBL Vesta MAIS 2024, Leercurve/Leercurves_v2.csv (low/high: _low_v2/_high_v2), row {subject}, "
                    f"{VESTA}",
                    f"index of {year} relative to 2024, the price level of the 2024 kentallen",
                    min(values.values()),
                    max(values.values()),
                    year,
                )
            )

    def inst_pair(row: str, a: str, b: str) -> tuple[float, float]:
        return installation(inst, row, a), installation(inst, row, b)

    for name, row, cols, unit, note in (
        ("boiler_invest_fixed", "HR", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling", ""),
        ("boiler_invest_per_kw_utility", "HR", ("Ki_cap_min_u", "Ki_cap_max_u"), "EUR per kW", ""),
        ("heat_pump_air_invest_fixed", "eWP_lw", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling", ""),
        (
            "heat_pump_air_invest_fixed_utility",
            "eWP_lw_u",
            ("Ki_asl_min_u", "Ki_asl_max_u"),
            "EUR per utility object",
            "",
        ),
        ("heat_pump_air_invest_per_kw_utility", "eWP_lw_u", ("Ki_cap_min_u", "Ki_cap_max_u"), "EUR per kW", ""),
        ("heat_pump_ground_invest_fixed", "eWP_bw", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling", ""),
        (
            "heat_pump_ground_invest_fixed_utility",
            "eWP_bw_uK",
            ("Ki_asl_min_u", "Ki_asl_max_u"),
            "EUR per utility object",
            "",
        ),
        ("heat_pump_ground_invest_per_kw_utility", "eWP_bw_uK", ("Ki_cap_min_u", "Ki_cap_max_u"), "EUR per kW", ""),
        ("hybrid_heat_pump_invest_fixed", "BasisHWP_w", ("Ki_asl_min_w", "Ki_asl_max_w"), "EUR per dwelling", ""),
        ("hybrid_heat_pump_invest_per_kw", "BasisHWP_w", ("Ki_cap_min_w", "Ki_cap_max_w"), "EUR per kW", ""),
    ):
        low, high = inst_pair(row, *cols)
        add(_rows_min_max(name, low, high, unit, src_inst.format(row) + f", columns {cols[0]}/{cols[1]}", note))
    sa_inst = shared / SA_DIR / "installaties" / "Installatie.csv"
    for name, row in (("heat_pump_air_invest_per_kw", "eWP_lw"), ("heat_pump_ground_invest_per_kw", "eWP_bw")):
        low, high = installation(sa_inst, row, "Ki_cap_min_w"), installation(sa_inst, row, "Ki_cap_max_w")
        odd_low, odd_high = installation(inst, row, "Ki_cap_min_w"), installation(inst, row, "Ki_cap_max_w")
        add(
            _rows_min_max(
                name,
                low,
                high,
                "EUR per kW",
                f"PBL Vesta Startanalyse 2020, installaties/Installatie.csv, row {row}, Ki_cap_min_w/_max_w, "
                f"{VESTA} @ VestaStartanalyse2020",
                f"the 2024 file gives {odd_low:g}/{odd_high:g} EUR per kW, equal to the per-dwelling cost of "
                "a biomass boiler in the same file and not plausible per kW; the 2020 value is kept",
            )
        )
    add(
        Row(
            "ground_loop_share",
            installation(inst, "eWP_bw", "AT30"),
            "fraction of investment",
            src_inst.format("eWP_bw") + ", column AT30",
            "",
        )
    )
    for name, row in (
        ("maintenance_rate_boiler", "HR"),
        ("maintenance_rate_heat_pump_air", "eWP_lw"),
        ("maintenance_rate_heat_pump_ground", "eWP_bw"),
        ("maintenance_rate_hybrid", "BasisHWP_w"),
        ("maintenance_rate_heat_pump_utility", "eWP_lw_u"),
        ("maintenance_rate_heat_pump_ground_utility", "eWP_bw_uK"),
    ):
        add(
            Row(
                name,
                installation(inst, row, "R_OH"),
                "fraction of investment per yr",
                src_inst.format(row) + ", column R_OH",
                "",
            )
        )
    for name, parameter, unit in (
        ("low_temperature_emitters_invest_ground_level", "Ki_LTAS_wl", "EUR per dwelling"),
        ("low_temperature_emitters_invest_apartment", "Ki_LTAS_wh", "EUR per dwelling"),
        ("low_temperature_emitters_invest_utility", "Ki_LTAS_u", "EUR per m2"),
    ):
        low, high = k.get("BC_Kentallen", f"{parameter}_min"), k.get("BC_Kentallen", f"{parameter}_max")
        add(
            _rows_min_max(
                name, low, high, unit, k.source("BC_Kentallen", f"{parameter}_min/_max", " (Arcadis 2023)"), ""
            )
        )
    for label, suffix in (("A", "a"), ("B", "b"), ("C", "c"), ("x", "other")):
        add(
            Row(
                f"heat_pump_air_spf_space_{suffix}",
                performance(perf, "eWP_lw", label, "RV", "SPF_b"),
                "GJ heat per GJ e",
                src_perf.format(f"eWP_lw / {label} / RV"),
                "",
            )
        )
        ground_label = label if label != "x" else "C"
        add(
            Row(
                f"heat_pump_ground_spf_space_{suffix}",
                performance(perf, "eWP_bw", ground_label, "RV", "SPF_b"),
                "GJ heat per GJ e",
                src_perf.format(f"eWP_bw / {ground_label} / RV"),
                "no row below C, the C value is used" if label == "x" else "",
            )
        )
        hybrid_label = label if label != "x" else "D"
        add(
            Row(
                f"hybrid_heat_pump_spf_space_{suffix}",
                performance(perf, "BasisHWP_w", hybrid_label, "RV", "SPF_b"),
                "GJ heat per GJ e",
                src_perf.format(f"BasisHWP_w / {hybrid_label} / RV"),
                "",
            )
        )
    for name, row, label, product, column in (
        ("heat_pump_air_spf_hot_water", "eWP_lw", "x", "TW", "SPF_b"),
        ("heat_pump_ground_spf_hot_water", "eWP_bw", "x", "TW", "SPF_b"),
        ("hybrid_heat_pump_space_share", "BasisHWP_w", "B", "RV", "P_vol"),
        ("hybrid_heat_pump_capacity_share", "BasisHWP_w", "B", "RV", "P_cap"),
        ("boiler_efficiency_space", "HR", "x", "RV", "SPF_b"),
        ("boiler_efficiency_hot_water", "HR", "x", "TW", "SPF_b"),
        ("heat_pump_air_spf_space_utility", "eWP_lw_u", "x", "RV", "SPF_b"),
        ("heat_pump_ground_spf_space_utility", "eWP_bw_uK", "x", "RV", "SPF_b"),
        ("heat_pump_spf_hot_water_utility", "eWP_lw_u", "x", "TW", "SPF_b"),
        ("hybrid_heat_pump_spf_space_utility", "hWP_lw_u", "x", "RV", "SPF_b"),
        ("hybrid_heat_pump_space_share_utility", "hWP_lw_u", "x", "RV", "P_vol"),
        ("hybrid_heat_pump_capacity_share_utility", "hWP_lw_u", "x", "RV", "P_cap"),
    ):
        unit = "fraction" if column.startswith("P_") else "GJ heat per GJ e"
        add(
            Row(
                name,
                performance(perf, row, label, product, column),
                unit,
                src_perf.format(f"{row} / {label} / {product}") + f", {column}",
                "",
            )
        )
    for name, parameter, unit in (
        ("space_heating_capacity_ground_level_fixed", "ASW_RVmt_wl_asl", "kW per dwelling"),
        ("space_heating_capacity_ground_level_per_m2", "ASW_RVmt_wl_opp", "kW per m2"),
        ("space_heating_capacity_apartment_fixed", "ASW_RVmt_wh_asl", "kW per dwelling"),
        ("space_heating_capacity_apartment_per_m2", "ASW_RVmt_wh_opp", "kW per m2"),
        ("space_heating_capacity_utility_per_m2", "ASW_RVmt_u_opp", "kW per m2"),
        ("hot_water_capacity_ground_level", "ASW_TWmt_wl_asl", "kW per dwelling"),
        ("hot_water_capacity_apartment", "ASW_TWmt_wh_asl", "kW per dwelling"),
        ("hot_water_capacity_utility_per_m2", "ASW_TWmt_u_opp", "kW per m2"),
        ("grid_capacity_appliances_dwelling", "ASW_Eapp_wl_asl", "kW per dwelling"),
        ("grid_capacity_heat_pump_dwelling", "ASW_Eewp_wl_asl", "kW per dwelling"),
        ("grid_capacity_hybrid_dwelling", "ASW_Ehwp_wl_asl", "kW per dwelling"),
        ("grid_capacity_appliances_utility_per_m2", "ASW_Eapp_u_opp", "kW per m2"),
        ("grid_capacity_heat_pump_utility_per_m2", "ASW_Eewp_u_opp", "kW per m2"),
        ("grid_capacity_hybrid_utility_per_m2", "ASW_Ehwp_u_opp", "kW per m2"),
    ):
        if parameter.startswith("ASW_RVmt"):
            # The 2024 Vermogens.csv has no space-heating connection capacities: keep the 2020 ones.
            at_max, at_min = dms_min_max(shared / SA_DIR / "model" / "Kengetallen" / "Vermogens.dms", parameter)
            add(
                _rows_min_max(
                    name,
                    at_max,
                    at_min,
                    unit,
                    f"PBL Vesta Startanalyse 2020, model/Kengetallen/"
                    f"Vermogens.dms, {parameter}, {VESTA} @ VestaStartanalyse2020",
                    "not in the 2024 Vermogens.csv; the 2020 value",
                )
            )
            continue
        low, high = k.get("Vermogens", f"{parameter}_min"), k.get("Vermogens", f"{parameter}_max")
        add(_rows_min_max(name, low, high, unit, k.source("Vermogens", f"{parameter}_min/_max"), ""))
    for name, parameter in (
        ("grid_simultaneity_dwelling", "GTF_w_Enet"),
        ("grid_simultaneity_utility", "GTF_u_Enet"),
        ("heat_simultaneity_space_dwelling", "GTF_w_RVmt"),
        ("heat_simultaneity_hot_water_dwelling", "GTF_w_TW"),
        ("heat_simultaneity_space_utility", "GTF_u_RVmt"),
        ("heat_simultaneity_hot_water_utility", "GTF_u_TW"),
    ):
        add(Row(name, k.get("Vermogens", parameter), "fraction", k.source("Vermogens", parameter), ""))
    for name, parameter, unit in (
        ("grid_new_substation_cost", "Ki_MSR", "EUR per MS-ruimte"),
        ("grid_lv_reinforcement_cost_per_m", "Ki_verzw_LS", "EUR per m"),
        ("grid_connection_upgrade_cost", "Ki_verzw_e", "EUR per connection"),
        ("gas_connection_removal_low_rise", "Ki_verw_g_laagb", "EUR per connection"),
        ("gas_connection_removal_high_rise", "Ki_verw_g_hoogb", "EUR per connection"),
        ("gas_connection_removal_utility", "Ki_verw_g_util", "EUR per connection"),
        ("gas_main_removal_cost_per_m", "Ki_verw_LD", "EUR per m"),
    ):
        low, high = k.get("Netbeheer", f"{parameter}_min"), k.get("Netbeheer", f"{parameter}_max")
        add(
            _rows_min_max(
                name,
                low,
                high,
                unit,
                k.source("Netbeheer", f"{parameter}_min/_max", " (Inventarisatie netbeheerders 2024)"),
                "excl. VAT",
            )
        )
    add(
        Row(
            "grid_new_substation_capacity",
            k.get("Netbeheer", "P_MSR_kw"),
            "kVA per MS-ruimte",
            k.source("Netbeheer", "P_MSR_kw"),
            "",
        )
    )
    add(
        Row(
            "grid_share_connections_3x25",
            0.0,
            "fraction",
            "assumption (wup-pipeline): no national figure in the 2024 kentallen",
            "every all-electric dwelling is upgraded",
        )
    )
    add(
        Row(
            "ld_gas_network_length_nl",
            k.get("Infra", "Km_lengte_LD_net_NL"),
            "km",
            k.source("Infra", "Km_lengte_LD_net_NL"),
            "",
        )
    )
    add(
        Row(
            "lv_network_length_nl",
            k.get("Infra", "Km_lengte_LS_net_NL"),
            "km",
            k.source("Infra", "Km_lengte_LS_net_NL"),
            "",
        )
    )
    for name, parameter in (
        ("gas_network_maintenance_transmission_nl", "Kj_oh_trans_g"),
        ("gas_network_maintenance_distribution_nl", "Kj_oh_distr_g"),
    ):
        add(Row(name, k.get("Infra", parameter), "MEUR per yr", k.source("Infra", parameter), ""))
    for name, parameter in (
        ("gas_fixed_charge_standing", "Vastrecht_g"),
        ("gas_fixed_charge_connection", "PA_g"),
        ("gas_fixed_charge_meter", "meterhuur_g"),
        ("gas_fixed_charge_capacity", "capaciteitstarief_g"),
        ("gas_fixed_charge_supply", "Leveringstarief_g"),
    ):
        add(
            Row(
                name,
                k.get("Infra", parameter),
                "EUR per connection per yr",
                k.source("Infra", parameter, " (Stedin 2024)"),
                "excl. VAT",
            )
        )
    add(
        Row(
            "utility_floor_area_per_object",
            _utility_area_per_object(shared),
            "m2 per utility object",
            "BAG verblijfsobjecten of the Den Haag test area "
            "(bag_testarea_denhaag/bag_verblijfsobject_testarea.csv, via "
            "3DGI/wijklabels @ b937ab1): mean gebruiksoppervlakte of objects in use without woonfunctie, industry-only "
            "excluded",
            "",
        )
    )
    add(Row("gas_lower_heating_value", 31.65, "MJ per m3", f"{FO3}, formula 10", ""))
    add(
        Row(
            "co2_gas",
            energy_price(shared / SA_DIR / "data", "", "Aardgas", 2030, "RAT_CO2_KWH"),
            "kg CO2 per m3",
            KEV2019.format("Aardgas") + ", column RAT_CO2_KWH",
            "only gas CO2 counts",
        )
    )
    tax_note = "no price path in vesta_kentallen: KEV2019 supply prices kept"
    rows += [
        Row(r.name, r.value, r.unit, r.source, f"{r.note}; {tax_note}", r.low, r.high, r.year)
        for r in _price_rows(shared / SA_DIR / "data", PRICE_YEARS, taxes=False)
    ]
    for size_name in ("small", "medium"):
        for name, value, unit, what in (
            ("gas_energy_tax", 0.57816, "EUR per m3", "aardgas 0-170.000 m3"),
            ("electricity_energy_tax", 0.10154, "EUR per kWh", "elektriciteit 0-10.000 kWh"),
            ("gas_sde_surcharge", 0.0, "EUR per m3", "ODE merged into the energy tax from 2023"),
            ("electricity_sde_surcharge", 0.0, "EUR per kWh", "ODE merged into the energy tax from 2023"),
        ):
            add(
                Row(
                    f"{name}_{size_name}",
                    value,
                    unit,
                    f"Belastingdienst, tarieven energiebelasting {TAX_YEAR_DEFAULT} (Belastingplan 2025), {what}",
                    "first bracket applied to all use; 2025 rate held constant",
                    year=None,
                )
            )
    add(
        Row(
            "electricity_tax_credit",
            524.95,
            "EUR per connection per yr",
            f"Belastingdienst, belastingvermindering energiebelasting {TAX_YEAR_DEFAULT}",
            "the same in every route",
        )
    )
    rows += _heat_network_rows_default(k, shared)
    add(
        Row(
            "split_incentive_landlord_share",
            0.8,
            "fraction",
            f"{VESTA_CODE}, Basis.dms R_SplitIncentiveFactor",
            "no newer value",
        )
    )
    add(
        Row(
            "rent_reduction_collective_heat",
            k.get("BC_Kentallen", "Kj_hv_w"),
            "EUR per dwelling per yr",
            k.source("BC_Kentallen", "Kj_hv_w"),
            "",
        )
    )
    add(Row("rent_reduction_share", 0.5, "fraction", f"{VESTA_CODE}, Basis.dms HuurVerlagingBijGebiedsOptieSchuif", ""))
    nmda = kt / "data" / "Kentallen" / "20241015_NMDA_Prijzen.csv"
    for name, key in (
        ("heat_fixed_charge_mt", "VastrechtMT"),
        ("heat_fixed_charge_lt", "VastrechtLT"),
        ("heat_metering_charge", "Meettarief"),
        ("heat_connection_fee", "Aansluitbijdrage"),
    ):
        add(
            Row(
                name,
                _number(read_table(nmda, ";"), nmda, "Naam", key, "Waarde"),
                "EUR per connection" + (" per yr" if "fee" not in name else ""),
                k.source("NMDA_Prijzen", key, " (ACM Warmtebesluit, euro2023)"),
                "excl. VAT",
            )
        )
    isde = "RVO, ISDE: Wat wijzigt er in 2025 (lucht-waterwarmtepompen 1-70 kW: startbedrag 1.250, 225 per kW)"
    add(Row("isde_heat_pump_fixed", 1250.0, "EUR per heat pump", isde, "applied to air, ground and hybrid heat pumps"))
    add(Row("isde_heat_pump_per_kw", 225.0, "EUR per kW above the threshold", isde, ""))
    add(Row("isde_heat_pump_kw_threshold", 1.0, "kW", isde + " (example: 5 kW gives 1.250 + 4 x 225)", ""))
    rows += _financing_rows("")
    low, high = k.get("Netbeheer", "Ki_verw_LD_min"), k.get("Netbeheer", "Ki_verw_LD_max")
    add(
        _rows_min_max(
            "koppelkans_trench_cost_per_m",
            low,
            high,
            "EUR per m of shared trench",
            k.source("Netbeheer", "Ki_verw_LD_min/_max"),
            "cost of opening and closing a street trench, taken as the grid operators' cost of removing a LD "
            "gas main; saved per metre of trench that coincides with planned works",
        )
    )
    return rows


def general_rows_2020_static() -> list[Row]:
    """Model settings shared by both sets (lifetimes, VAT, the WEQ convention)."""
    rows = []
    for name, value, where in (
        ("lifetime_building_shell", 30, "Kmi_gv annualised with NCW/mr30 (AllocatieResultatenComponent.dms)"),
        ("lifetime_installation", 15, "Ki15_LO annualised with NCW/mr15 (AllocatieResultatenComponent.dms)"),
        (
            "lifetime_ground_loop",
            30,
            "the AT30 share of Ki annualised with NCW/mr30 (AllocatieResultatenComponent.dms)",
        ),
        ("lifetime_low_temperature_emitters", 30, "Kmi_LTAS annualised with NCW/mr30 (Resultaten/Maatschappelijk.dms)"),
        (
            "lifetime_grid",
            50,
            "grid reinforcement and gas-grid removal annualised with NCW/mr50 (Resultaten/Netwerken.dms)",
        ),
        ("heat_network_first_year", 2, "Investering/BeginOpbrengstJaar (Basis.dms)"),
        ("heat_network_last_year", 30, "Investering/EindOpbrengstJaar (Basis.dms)"),
    ):
        rows.append(Row(name, value, "yr", f"{VESTA_CODE}, {where}", "model setting, unchanged"))
    rows.append(Row("vat_rate", 0.21, "fraction", "Wet op de omzetbelasting 1968, algemeen tarief 21%", ""))
    rows.append(
        Row(
            "vat_rate_building_improvement",
            0.15,
            "fraction",
            f"{VESTA_CODE}, Basis.dms, VAT_gv = 0.5 * (21 + 9)",
            "half the work at the low 9% labour rate",
        )
    )
    rows.append(
        Row(
            "weq_utility_floor_area", 130.0, "m2 per woningequivalent", "PBL Vesta glossary, i11_woningequivalenten", ""
        )
    )
    return rows


def _heat_network_rows_default(k: Kentallen, shared: Path) -> list[Row]:
    base = {row.name: row for row in _heat_network_rows_2020(shared / SA_DIR)}
    replaced: dict[str, Row] = {}

    def pair(file: str, low_name: str, high_name: str) -> tuple[float, float]:
        return k.get(file, low_name), k.get(file, high_name)

    for name, value, unit, file, key in (
        (
            "heat_connection_ground_level",
            k.get("MT_warmtenetten", "Ki_id_grondgeb_i") + k.get("MT_warmtenetten", "Ki_afleverset_i"),
            "EUR per dwelling",
            "MT_warmtenetten",
            "Ki_id_grondgeb_i + Ki_afleverset_i",
        ),
        (
            "heat_connection_apartment",
            k.get("MT_warmtenetten", "Ki_afleverset_i"),
            "EUR per dwelling",
            "MT_warmtenetten",
            "Ki_afleverset_i",
        ),
        (
            "heat_in_house_apartment",
            k.get("MT_warmtenetten", "Ki_id_geenBlok_i"),
            "EUR per dwelling",
            "MT_warmtenetten",
            "Ki_id_geenBlok_i",
        ),
        (
            "heat_removal_old_installation",
            0.0,
            "EUR per dwelling",
            "MT_warmtenetten",
            "Ki_afleverset_i (includes demontage oude installatie)",
        ),
        (
            "heat_pump_energy_share",
            k.get("Efficiency", "Pompenergie_Wnet_min"),
            "GJ e per GJ heat",
            "Efficiency",
            "Pompenergie_Wnet_min/_max",
        ),
    ):
        replaced[name] = Row(name, value, unit, k.source(file, key), "")
    pm_low, pm_high = pair("MT_warmtenetten", "K_Pm_min_i", "K_Pm_max_i")
    replaced["heat_project_costs"] = _rows_min_max(
        "heat_project_costs",
        pm_low,
        pm_high,
        "EUR per dwelling",
        k.source("MT_warmtenetten", "K_Pm_min_i/_max_i; K_Ov_i = 0"),
        "",
    )
    os_low, os_high = pair("MT_warmtenetten", "K_os_min_i", "K_os_Max_i")
    replaced["heat_substation_cost_per_kw"] = _rows_min_max(
        "heat_substation_cost_per_kw",
        os_low,
        os_high,
        "EUR per kW",
        k.source("MT_warmtenetten", "K_os_min_i/_Max_i"),
        "CE Delft 2022",
    )
    wos_low, wos_high = pair("MT_warmtenetten", "K_WOS_min_i", "K_WOS_max_i")
    replaced["heat_transfer_station_cost_per_mw"] = _rows_min_max(
        "heat_transfer_station_cost_per_mw",
        wos_low * 1000,
        wos_high * 1000,
        "EUR per MW",
        k.source("MT_warmtenetten", "K_WOS_min_i/_max_i (EUR per kW, x 1000)"),
        "overdrachtstation & piekketel",
    )
    loss_low, loss_high = pair("Efficiency", "Leidingverlies_max", "Leidingverlies_min")
    replaced["heat_network_loss"] = _rows_min_max(
        "heat_network_loss", loss_low, loss_high, "fraction", k.source("Efficiency", "Leidingverlies_min/_max"), ""
    )
    vol_low, vol_high = pair("Efficiency", "W_zonder_bijstook_min", "W_zonder_bijstook_max")
    replaced["heat_source_volume_share"] = _rows_min_max(
        "heat_source_volume_share",
        vol_low,
        vol_high,
        "fraction",
        k.source("Efficiency", "W_zonder_bijstook_min/_max"),
        "",
    )
    eff_low, eff_high = pair("Efficiency", "Efficiency_piekketel_min", "Efficiency_piekketel_max")
    replaced["heat_peak_boiler_efficiency"] = _rows_min_max(
        "heat_peak_boiler_efficiency",
        eff_low,
        eff_high,
        "GJ heat per GJ gas",
        k.source("Efficiency", "Efficiency_piekketel_min/_max"),
        "",
    )
    replaced["heat_source_capacity_share"] = Row(
        "heat_source_capacity_share",
        k.get("Efficiency", "HoofdbronVermogens_min"),
        "fraction",
        k.source("Efficiency", "HoofdbronVermogens_min/_max"),
        "",
    )
    for name, key in (
        ("maintenance_rate_heat_transfer_station", "R_WOS_onderhoud"),
        ("maintenance_rate_heat_substation", "R_OS_onderhoud"),
        ("maintenance_rate_heat_network", "R_wd_onderhoud"),
        ("maintenance_rate_heat_in_house", "R_id_onderhoud"),
        ("maintenance_rate_heat_source", "R_ow_onderhoud"),
        ("heat_supplier_admin_share", "R_lv_Admin"),
    ):
        replaced[name] = Row(name, k.get("Onderhoud", key), base[name].unit, k.source("Onderhoud", key), "")
    cop_low, cop_high = pair("LT_warmtenetten", "Ki_eWP_coll_min_i", "Ki_eWP_coll_max_i")
    replaced["collective_heat_pump_cost_per_kw"] = _rows_min_max(
        "collective_heat_pump_cost_per_kw",
        cop_low,
        cop_high,
        "EUR per kW",
        k.source("LT_warmtenetten", "Ki_eWP_coll_min_i/_max_i"),
        "",
    )
    teo_low, teo_high = pair("LT_warmtenetten", "Ki_TEO_vast_min_i", "Ki_TEO_vast_max_i")
    replaced["teo_source_cost_fixed"] = _rows_min_max(
        "teo_source_cost_fixed", teo_low, teo_high, "EUR", k.source("LT_warmtenetten", "Ki_TEO_vast_min_i/_max_i"), ""
    )
    teo_low, teo_high = pair("LT_warmtenetten", "Ki_TEO_var_min_i", "Ki_TEO_var_max_i")
    replaced["teo_source_cost_per_kw"] = _rows_min_max(
        "teo_source_cost_per_kw",
        teo_low,
        teo_high,
        "EUR per kW",
        k.source("LT_warmtenetten", "Ki_TEO_var_min_i/_max_i"),
        "",
    )
    wko_low, wko_high = pair("LT_warmtenetten", "Ki_WKO_vast_min_i", "Ki_WKO_vast_max_i")
    replaced["wko_source_minimum_cost"] = _rows_min_max(
        "wko_source_minimum_cost",
        wko_low,
        wko_high,
        "EUR",
        k.source("LT_warmtenetten", "Ki_WKO_vast_min_i/_max_i"),
        "fixed part of a WKO source without distribution",
    )
    wko_var = k.get("LT_warmtenetten", "Ki_WKO_var_min_i") + _mean(cop_low, cop_high)
    replaced["wko_source_cost_per_kw"] = Row(
        "wko_source_cost_per_kw",
        wko_var,
        "EUR per kW",
        k.source("LT_warmtenetten", "Ki_WKO_var_min_i + Ki_eWP_coll mean"),
        "WKO source plus collective heat pump, per kW, as the 2020 kental combines them",
    )
    b_low, b_high = pair("LT_warmtenetten", "Ki_booster_min_i", "Ki_booster_max_i")
    replaced["booster_heat_pump_invest"] = _rows_min_max(
        "booster_heat_pump_invest",
        b_low,
        b_high,
        "EUR per dwelling",
        k.source("LT_warmtenetten", "Ki_booster_min_i/_max_i"),
        "",
    )
    rows = []
    for name, row in base.items():
        new = replaced.get(name)
        if new is None:
            new = Row(
                row.name,
                row.value,
                row.unit,
                row.source,
                (row.note + "; " if row.note else "") + "no newer value in vesta_kentallen",
                row.low,
                row.high,
                row.year,
            )
        rows.append(new)
    return rows


def general_table(shared: Path) -> pl.DataFrame:
    frames = []
    for parameter_set, rows in ((SA2020, general_rows_2020(shared)), (DEFAULT, general_rows_default(shared))):
        frames.append(
            pl.DataFrame(
                {
                    "parameter_set": parameter_set,
                    "name": [r.name for r in rows],
                    "year": [r.year for r in rows],
                    "value": [float(r.value) for r in rows],
                    "unit": [r.unit for r in rows],
                    "low": [None if r.low is None else float(r.low) for r in rows],
                    "high": [None if r.high is None else float(r.high) for r in rows],
                    "source": [r.source for r in rows],
                    "note": [r.note for r in rows],
                },
                schema_overrides={"year": pl.Int64, "low": pl.Float64, "high": pl.Float64},
            )
        )
    table = pl.concat(frames).with_columns(pl.col("value", "low", "high").round(9))
    return table


# ---------------------------------------------------------------------------------------------------
# costs_building_kentallen.csv and costs_building_stock.csv


def _building_source(parameter_set: str, sector: str) -> tuple[Path, str]:
    if parameter_set == SA2020:
        if sector == "dwelling":
            return Path(
                SA_DIR
            ) / "data" / "20200827_Woningen_BAG.csv", "PBL Vesta Startanalyse 2020, data/20200827_Woningen_BAG.csv"
        return Path(
            SA_DIR
        ) / "data" / "20200615_Utiliteiten_BAG.csv", "PBL Vesta Startanalyse 2020, data/20200615_Utiliteiten_BAG.csv"
    if sector == "dwelling":
        return Path(KT_DIR) / "data" / "20241016_Woningen_BAG.csv", "PBL Vesta MAIS, data/20241016_Woningen_BAG.csv"
    return Path(KT_DIR) / "data" / "20210420_Utiliteiten_BAG.csv", "PBL Vesta MAIS, data/20210420_Utiliteiten_BAG.csv"


def building_kentallen_table(shared: Path) -> pl.DataFrame:
    frames = []
    for parameter_set in (SA2020, DEFAULT):
        for sector, types in (("dwelling", DWELLING_TYPES), ("utility", UTILITY_TYPES)):
            relative, source = _building_source(parameter_set, sector)
            frames.append(_kentallen_rows(shared / relative, parameter_set, sector, types, source))
    return pl.concat(frames)


def _kentallen_rows(path: Path, parameter_set: str, sector: str, types: tuple[str, ...], source: str) -> pl.DataFrame:
    raw = read_table(path)
    raw = raw.with_columns(pl.col("type_str", "bouwjaar_str", "Default_label").str.strip_chars())
    raw = raw.filter(pl.col("type_str").is_in(list(types)))
    missing = set(types) - set(raw["type_str"])
    if missing:
        raise InputError(str(path), f"no rows for type {sorted(missing)[0]!r}", field="type_str")
    unit_part = {"asl": "per dwelling" if sector == "dwelling" else "per utility object", "opp": "per m2"}
    frames = []

    def emit(
        name: str,
        column: str,
        unit: str,
        note: str,
        label_from: str | None = None,
        label_to: str | None = None,
        low: str | None = None,
        high: str | None = None,
    ) -> None:
        if column not in raw.columns:
            return
        value = pl.col(column).cast(pl.Float64, strict=False)
        note_expr = pl.lit(note)
        if column.startswith("Vrv_"):
            # Utiliteiten_BAG 'Overig / onbekend' has the text HUDIG ('huidig', current) as its label-D
            # demand: the current (N) demand is meant; anything else that is not a number is an error.
            fallback = pl.col(f"Vrv_N_{column.rsplit('_', 1)[1]}").cast(pl.Float64)
            is_current = pl.col(column).str.strip_chars().str.to_uppercase() == "HUDIG"
            value = pl.when(is_current).then(fallback).otherwise(value)
            note_expr = (
                pl.when(is_current)
                .then(pl.lit(note + "; published value 'HUDIG' (current): the N value"))
                .otherwise(note_expr)
            )
        bad = raw.with_row_index("line", offset=2).filter(value.is_null() & pl.col(column).is_not_null())
        if bad.height:
            raise InputError(str(path), f"not a number: {bad[column][0]!r}", record=int(bad["line"][0]), field=column)
        low_value = pl.col(low).cast(pl.Float64, strict=False) if low else pl.lit(None, pl.Float64)
        high_value = pl.col(high).cast(pl.Float64, strict=False) if high else pl.lit(None, pl.Float64)
        if low and high:
            value = (low_value + high_value) / 2
            low_value, high_value = pl.min_horizontal(low_value, high_value), pl.max_horizontal(low_value, high_value)
        cols = column if not low else f"{low}/{high}"
        frames.append(
            raw.select(
                pl.lit(parameter_set).alias("parameter_set"),
                pl.lit(sector).alias("sector"),
                pl.col("type_str").alias("building_type"),
                pl.col("bouwjaar_str").alias("build_year_class"),
                pl.lit(name).alias("name"),
                pl.lit(label_from, pl.String).alias("label_from"),
                pl.lit(label_to, pl.String).alias("label_to"),
                value.alias("value"),
                pl.lit(unit).alias("unit"),
                low_value.alias("low"),
                high_value.alias("high"),
                pl.lit(f"{source}, column {cols}").alias("source"),
                note_expr.alias("note"),
            )
        )

    for label in HEAT_LABELS:
        for part in ("asl", "opp"):
            emit(
                f"space_heating_{'fixed' if part == 'asl' else 'per_m2'}",
                f"Vrv_{label}_{part}",
                f"GJ/yr {unit_part[part]}",
                "functional space-heating demand"
                + (", no registered label (Vesta 'Geen Label')" if label == "N" else ""),
                label_from=label,
            )
    for prefix, name, note in (
        ("Vww", "hot_water", "functional hot-water demand"),
        ("Vvent", "ventilation", "electricity for mechanical ventilation (labels B and better)"),
        ("Ve", "appliances", "electricity for appliances and lighting"),
    ):
        for part in ("asl", "opp"):
            emit(
                f"{name}_{'fixed' if part == 'asl' else 'per_m2'}", f"{prefix}_{part}", f"GJ/yr {unit_part[part]}", note
            )
    for source_label in STEP_SOURCES:
        for target in STEP_TARGETS:
            for part in ("asl", "opp"):
                low, high = f"Ki_S{source_label}{target}_min_{part}", f"Ki_S{source_label}{target}_max_{part}"
                if low in raw.columns and high in raw.columns:
                    emit(
                        f"insulation_step_{'fixed' if part == 'asl' else 'per_m2'}",
                        low,
                        f"EUR {unit_part[part]}",
                        "shell step (schillabelsprong) excl. VAT; mean of min and max",
                        label_from=source_label,
                        label_to=target,
                        low=low,
                        high=high,
                    )
    frames.append(
        raw.select(
            pl.lit(parameter_set).alias("parameter_set"),
            pl.lit(sector).alias("sector"),
            pl.col("type_str").alias("building_type"),
            pl.col("bouwjaar_str").alias("build_year_class"),
            pl.lit("default_label").alias("name"),
            pl.col("Default_label").alias("label_from"),
            pl.lit(None, pl.String).alias("label_to"),
            pl.col("Default_label").replace_strict(LABEL_RANK, return_dtype=pl.Float64).alias("value"),
            pl.lit("label rank (A=1 .. G=7)").alias("unit"),
            pl.lit(None, pl.Float64).alias("low"),
            pl.lit(None, pl.Float64).alias("high"),
            pl.lit(f"{source}, column Default_label").alias("source"),
            pl.lit("the start label Vesta gives buildings without a registered label; label_from names it").alias(
                "note"
            ),
        )
    )
    # An empty cell means the file has no such step (e.g. from N when the default label is already
    # better than the target): the row is left out, and the model treats a missing step as none.
    return pl.concat(frames).filter(pl.col("value").is_not_null()).with_columns(pl.col("value", "low", "high").round(9))


def building_stock_table() -> pl.DataFrame:
    records = []
    for parameter_set, year in ((SA2020, 2019), (DEFAULT, 2020)):
        for vesta_type, counts in DWELLING_STOCK[year].items():
            for (period, split), count in zip(DWELLING_PERIOD_SPLIT, counts, strict=True):
                for build_year_class, share in split:
                    records.append(
                        (
                            parameter_set,
                            "dwelling",
                            vesta_type,
                            build_year_class,
                            count * share,
                            "dwellings",
                            f"{RELEASE_NOTES}, appendix A.1 (BAG 1 January {year}), period {period}",
                            f"share {share:.4f} of the period's dwellings",
                        )
                    )
        for utility_type, areas in UTILITY_STOCK[year].items():
            for period, area in zip(UTILITY_PERIODS, areas, strict=True):
                note = (
                    "industry does not count as utility in the Startanalyse (Basis.dms IndustrieDoetMee)"
                    if utility_type == "Industrie"
                    else ""
                )
                records.append(
                    (
                        parameter_set,
                        "utility",
                        utility_type,
                        period,
                        0.0 if utility_type == "Industrie" else float(area),
                        "m2 floor area",
                        f"{RELEASE_NOTES}, appendix A.2 (BAG 1 January {year}); Vesta type "
                        f"{'overige_gebruiks' if utility_type == 'Overig' else utility_type}",
                        note,
                    )
                )
    frame = pl.DataFrame(
        records,
        orient="row",
        schema=["parameter_set", "sector", "building_type", "build_year_class", "value", "unit", "source", "note"],
    )
    return frame.with_columns(pl.lit("national_stock").alias("name"), pl.col("value").round(6)).select(
        "parameter_set", "sector", "building_type", "build_year_class", "name", "value", "unit", "source", "note"
    )


def derive_all(shared: Path) -> dict[str, pl.DataFrame]:
    return {
        "costs_general": general_table(shared),
        "costs_building_kentallen": building_kentallen_table(shared),
        "costs_building_stock": building_stock_table(),
    }


def write_tables(tables: dict[str, pl.DataFrame], out: Path) -> None:
    """Write the tables; the repetitive ones cite by id, their rows of citations.csv updated in place."""
    parameters.write_tables(tables, out, float_precision=None)


def main(argv: list[str] | None = None, run: Callable[[Path], dict[str, pl.DataFrame]] = derive_all) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__)
        return 2
    shared = Path(args[0])
    out = Path(args[1]) if len(args) > 1 else Path(__file__).parent
    write_tables(run(shared), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
