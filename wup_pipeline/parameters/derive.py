"""Derive the housing parameter tables from the published PBL and RVO files they cite.

The CSV files next to this module are the project's own tables; this module is how they were made,
so anyone with the source files can check every value. Run::

    python -m wup_pipeline.parameters.derive <shared data dir> [<output dir>]

with ``<shared data dir>`` holding ``vesta_kentallen/data/20241016_Woningen_BAG.csv`` and
``bag_testarea_denhaag/energielabel_spreiding_subset.xlsx``. The tests re-derive the tables when
those files are present and compare them with the shipped CSVs.

Method (details and limitations in docs/housing-model.md):

- heat demand: ``Vrv_<label>_asl`` (GJ/yr per dwelling) and ``Vrv_<label>_opp`` (GJ/yr per m2) per
  Vesta dwelling type x build-year class x label A..G and N (no registered label); hot water
  ``Vww_asl``/``Vww_opp``. Units as Vesta imports them (``[GJ_yr_asl]``, ``[GJ_yr_m2]``).
- label distribution for dwellings without a registered label, per dwelling-type class x Vesta
  build-year class: the WoON2018 distribution where the RVO spreiding table has a block for that
  type and period; elsewhere a kernel of WoON2018 spreads centred on Vesta's ``Default_label``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from wup_pipeline.parameters import write_tables
from wup_pipeline.resources.errors import InputError

LABELS = ("A", "B", "C", "D", "E", "F", "G")
HEAT_LABELS = (*LABELS, "N")  # Vesta's N = "Geen Label": dwellings without a registered label

HEAT_PARAMETER_SET = "pbl_vesta_mais_20241016"
CLASS_PARAMETER_SET = "pbl_vesta_mais_2024"
TYPE_PARAMETER_SET = "wup_housing_v1"
LABEL_PARAMETER_SET = "woon2018_vesta_kernel_v1"

VESTA_REPO = "via RuudvandenWijngaart/VestaDV"
WONINGEN_BAG = f"PBL Vesta MAIS, Woningen_BAG.csv, 2024-10-16 (data/20241016_Woningen_BAG.csv), {VESTA_REPO}"
UNIT_SOURCE = (
    "units as Vesta imports the columns: [GJ_yr_asl] and [GJ_yr_m2] "
    "(model/stam/CalculationSchemes/ModelObjectKentallenImport.dms)"
)
CLASSIFICATIONS = f"PBL Vesta MAIS, model/Classifications.dms, unit BouwjaarWoningBestaand, {VESTA_REPO}"
WOON_SPREIDING = (
    "RVO, Illustraties spreiding Energielabel in WoON2018 per Voorbeeldwoning (2023-01-25), "
    "sheet \"spreiding labels, 25 jan '23\", via 3DGI/wijklabels @ b937ab1 "
    "tests/data/input/energielabel_spreiding_subset.xlsx"
)

# Vesta's build-year classes for existing dwellings: ClassBreak and Excel_code of
# BouwjaarWoningBestaand (Classifications.dms). Woningen_BAG.csv has rows up to "2015 - 2020";
# later dwellings fall in the last class here (Vesta models them as new construction instead).
BUILD_YEAR_CLASSES: tuple[tuple[str, int | None, int | None, str], ...] = (
    ("voor 1930", None, 1929, "v1930"),
    ("1930 - 1945", 1930, 1945, "v1946"),
    ("1946 - 1964", 1946, 1964, "v1965"),
    ("1965 - 1974", 1965, 1974, "v1975"),
    ("1975 - 1991", 1975, 1991, "v1992"),
    ("1992 - 1995", 1992, 1995, "v1996"),
    ("1996 - 1999", 1996, 1999, "v2000"),
    ("2000 - 2005", 2000, 2005, "v2006"),
    ("2006 - 2010", 2006, 2010, "v2011"),
    ("2011 - 2014", 2011, 2014, "v2014"),
    ("2015 - 2020", 2015, None, "v2020"),
)

# Our dwelling-type classes and the Vesta type (type_str) whose parameters they use. Vesta derives
# the type per pand in model/RuimtelijkeData/bag/AfleidingPandtype.dms (WoningType in
# Classifications.dms); apartments are "hoog" when the pand has more than 4 storeys (bag.dms).
DWELLING_TYPE_CLASSES: tuple[tuple[str, str, str, str], ...] = (
    ("detached", "detached", "vrijstaand", "single-dwelling pand without touching neighbour panden"),
    ("semi_detached", "semi_detached", "2 onder 1 kap",
     "single-dwelling pand with exactly one neighbour that itself has exactly one neighbour"),
    ("corner", "corner", "rijwoning hoek",
     "single-dwelling pand with exactly one neighbour that has two or more neighbours"),
    ("terraced", "terraced", "rijwoning tussen", "single-dwelling pand with two or more neighbours"),
    ("apartment_low_mid", "apartment", "meergezins: laag en midden",
     "pand with two or more woonfunctie units, estimated at 4 storeys or fewer"),
    ("apartment_high", "apartment", "meergezins: hoog",
     "pand with two or more woonfunctie units, estimated at more than 4 storeys (Vesta: nr_verdiepingen > 4)"),
)

# Construction era from which the 2006+ WoON2018 spreads are used as the kernel: from 1992 on the
# Bouwbesluit required Rc >= 2.5 for all parts and double glazing (comment on the 1992 class
# break in Vesta's Classifications.dms, after AgentschapNL voorbeeldwoningen 2011).
KERNEL_ERA_BREAK = 1992


def _read_semicolon_csv(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(str(path), "file not found")
    return pl.read_csv(path, separator=";", infer_schema_length=0, encoding="utf8-lossy")


def _float_column(frame: pl.DataFrame, column: str, path: Path) -> pl.Series:
    if column not in frame.columns:
        raise InputError(str(path), "column is missing", field=column)
    values = frame[column].str.strip_chars().cast(pl.Float64, strict=False)
    bad = frame.with_row_index("line", offset=2).filter(values.is_null())
    if bad.height:
        line = bad["line"][0]
        raise InputError(str(path), f"not a number: {frame[column][line - 2]!r}", record=line, field=column)
    return values


def read_woningen_bag(path: Path) -> pl.DataFrame:
    """The Vesta dwelling table, numeric columns as floats; errors name file, line and column."""
    raw = _read_semicolon_csv(path)
    for key in ("type_str", "bouwjaar_str", "Default_label"):
        if key not in raw.columns:
            raise InputError(str(path), "column is missing", field=key)
    numeric = [f"Vrv_{label}_{part}" for label in HEAT_LABELS for part in ("asl", "opp")]
    numeric += ["Vww_asl", "Vww_opp"]
    return raw.select(
        pl.col("type_str").str.strip_chars(),
        pl.col("bouwjaar_str").str.strip_chars(),
        pl.col("Default_label").str.strip_chars(),
        *[_float_column(raw, column, path).alias(column) for column in numeric],
    )


def build_year_classes_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "parameter_set": CLASS_PARAMETER_SET,
            "build_year_class": [c[0] for c in BUILD_YEAR_CLASSES],
            "year_min": [c[1] for c in BUILD_YEAR_CLASSES],
            "year_max": [c[2] for c in BUILD_YEAR_CLASSES],
            "vesta_name": [c[3] for c in BUILD_YEAR_CLASSES],
            "sort_order": list(range(1, len(BUILD_YEAR_CLASSES) + 1)),
            "source": CLASSIFICATIONS,
            "note": [
                "open lower bound; Vesta treats build years <= 1000 as unknown and puts unknown years in this class"
                if c[1] is None
                else "open upper bound: Woningen_BAG.csv ends at 2015 - 2020; later dwellings use this class"
                if c[2] is None
                else ""
                for c in BUILD_YEAR_CLASSES
            ],
        },
        schema_overrides={"year_min": pl.Int64, "year_max": pl.Int64},
    )


def dwelling_type_classes_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "parameter_set": TYPE_PARAMETER_SET,
            "dwelling_type_class": [c[0] for c in DWELLING_TYPE_CLASSES],
            "dwelling_type": [c[1] for c in DWELLING_TYPE_CLASSES],
            "vesta_type": [c[2] for c in DWELLING_TYPE_CLASSES],
            "rule": [c[3] for c in DWELLING_TYPE_CLASSES],
            "source": "PBL Vesta MAIS, model/RuimtelijkeData/bag/AfleidingPandtype.dms and bag.dms "
            f"(pand type from touching neighbours; apartments high above 4 storeys), {VESTA_REPO}",
            "note": "rule as implemented in intermediate.int_dwellings; see docs/housing-model.md",
        }
    )


def _check_vesta_keys(table: pl.DataFrame, path: Path) -> None:
    want_types = {c[2] for c in DWELLING_TYPE_CLASSES}
    want_classes = {c[0] for c in BUILD_YEAR_CLASSES}
    found = set(zip(table["type_str"], table["bouwjaar_str"], strict=True))
    missing = sorted({(t, c) for t in want_types for c in want_classes} - found)
    if missing:
        raise InputError(str(path), f"no row for (type_str, bouwjaar_str) {missing[0]} ({len(missing)} missing)")
    for line, (label, type_str) in enumerate(zip(table["Default_label"], table["type_str"], strict=True), start=2):
        if type_str in want_types and label not in LABELS:
            raise InputError(str(path), f"unknown label {label!r}", record=line, field="Default_label")


def heat_demand_table(woningen_bag: pl.DataFrame, path: Path | None = None) -> pl.DataFrame:
    """One row per (Vesta type, build-year class, label, parameter): the fixed part and the per-m2
    part of space-heating demand per label, and of hot-water demand (label-independent)."""
    _check_vesta_keys(woningen_bag, path or Path("Woningen_BAG.csv"))
    keep = woningen_bag.filter(pl.col("type_str").is_in([c[2] for c in DWELLING_TYPE_CLASSES]))
    frames = []
    for label in HEAT_LABELS:
        for part, name, unit in (
            ("asl", "space_heating_fixed", "GJ/yr per dwelling"),
            ("opp", "space_heating_per_m2", "GJ/yr per m2 gebruiksoppervlakte"),
        ):
            column = f"Vrv_{label}_{part}"
            meaning = "no registered label (Vesta 'Geen Label')" if label == "N" else f"label {label}"
            frames.append(keep.select(
                pl.col("type_str").alias("vesta_type"), pl.col("bouwjaar_str").alias("build_year_class"),
                pl.lit(label).alias("label"), pl.lit(name).alias("name"), pl.col(column).alias("value"),
                pl.lit(unit).alias("unit"), pl.lit(f"{WONINGEN_BAG}, column {column}; {UNIT_SOURCE}").alias("source"),
                pl.lit(f"functional space-heating demand, {meaning}").alias("note"),
            ))
    for part, name, unit in (
        ("asl", "hot_water_fixed", "GJ/yr per dwelling"),
        ("opp", "hot_water_per_m2", "GJ/yr per m2 gebruiksoppervlakte"),
    ):
        column = f"Vww_{part}"
        frames.append(keep.select(
            pl.col("type_str").alias("vesta_type"), pl.col("bouwjaar_str").alias("build_year_class"),
            pl.lit(None, pl.String).alias("label"), pl.lit(name).alias("name"), pl.col(column).alias("value"),
            pl.lit(unit).alias("unit"), pl.lit(f"{WONINGEN_BAG}, column {column}; {UNIT_SOURCE}").alias("source"),
            pl.lit("functional hot-water demand, independent of the label").alias("note"),
        ))
    order = {c[0]: i for i, c in enumerate(BUILD_YEAR_CLASSES)}
    type_order = {c[2]: i for i, c in enumerate(DWELLING_TYPE_CLASSES)}
    name_order = {"space_heating_fixed": 0, "space_heating_per_m2": 1, "hot_water_fixed": 2, "hot_water_per_m2": 3}
    label_order = {label: i for i, label in enumerate(HEAT_LABELS)}
    table = pl.concat(frames).with_columns(
        pl.col("value").round(9),
        pl.lit(None, pl.Float64).alias("low"), pl.lit(None, pl.Float64).alias("high"),
        pl.lit(HEAT_PARAMETER_SET).alias("parameter_set"),
    )
    table = table.sort(
        pl.col("vesta_type").replace_strict(type_order), pl.col("build_year_class").replace_strict(order),
        pl.col("name").replace_strict(name_order), pl.col("label").replace_strict(label_order, default=99),
    )
    return table.select("parameter_set", "vesta_type", "build_year_class", "label", "name", "value", "unit",
                        "low", "high", "source", "note")


def default_labels_table(woningen_bag: pl.DataFrame, path: Path | None = None) -> pl.DataFrame:
    _check_vesta_keys(woningen_bag, path or Path("Woningen_BAG.csv"))
    order = {c[0]: i for i, c in enumerate(BUILD_YEAR_CLASSES)}
    type_order = {c[2]: i for i, c in enumerate(DWELLING_TYPE_CLASSES)}
    return (
        woningen_bag.filter(pl.col("type_str").is_in(list(type_order)))
        .select(
            pl.lit(HEAT_PARAMETER_SET).alias("parameter_set"),
            pl.col("type_str").alias("vesta_type"), pl.col("bouwjaar_str").alias("build_year_class"),
            pl.lit("default_label").alias("name"), pl.col("Default_label").alias("value"),
            pl.lit("energy label class").alias("unit"),
            pl.lit(f"{WONINGEN_BAG}, column Default_label").alias("source"),
            pl.lit("Vesta's start label for a dwelling of this type and period without a registered label "
                   "(Vesta MAIS 4); used here as the centre of the label kernel").alias("note"),
        )
        .sort(pl.col("vesta_type").replace_strict(type_order), pl.col("build_year_class").replace_strict(order))
    )


@dataclass(frozen=True)
class WoonBlock:
    """One block of the RVO spreiding table: a voorbeeldwoning type and period, label shares."""

    title: str
    vesta_type: str
    year_min: int | None
    year_max: int | None
    n_dwellings: int
    shares: dict[str, float]  # A..G, A++++..A collapsed into A

    @property
    def median_label(self) -> str:
        cumulative = 0.0
        for label in LABELS:
            cumulative += self.shares[label]
            if cumulative >= 0.5 - 1e-12:
                return label
        return LABELS[-1]


_BLOCK_TITLE = re.compile(r"^(?P<type>.+?)\s+(?P<period><\d{4}|>\d{4}|\d{4}-\d{4})$")
_XLSX_LABELS = ("A++++", "A+++", "A++", "A+", "A", "B", "C", "D", "E", "F", "G")


def read_woon_spreiding(path: Path) -> list[WoonBlock]:
    """Blocks of the RVO WoON2018 spreiding sheet: title row, header row, one row per vormfactor
    band (label shares weighted over the band), then a total row. Shares are summed over the bands."""
    import openpyxl  # only needed when deriving

    if not path.is_file():
        raise InputError(str(path), "file not found")
    sheet = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    blocks = []
    for index, row in enumerate(rows):
        title = row[1] if len(row) > 1 else None
        match = _BLOCK_TITLE.match(title.strip()) if isinstance(title, str) else None
        if not match:
            continue
        line = index + 1
        count = next((str(v) for v in row[2:] if isinstance(v, str) and "WoON" in v), "")
        n_match = re.match(r"\s*(\d+)\s+woningen", count)
        if not n_match:
            raise InputError(str(path), f"block {title!r} has no '<n> woningen in WoON2018' cell", record=line)
        header = rows[index + 1]
        columns = {h: j for j, h in enumerate(header) if h in _XLSX_LABELS}
        if set(columns) != set(_XLSX_LABELS):
            raise InputError(str(path), f"block {title!r}: header lacks labels "
                             f"{sorted(set(_XLSX_LABELS) - set(columns))}", record=line + 1)
        totals = dict.fromkeys(_XLSX_LABELS, 0.0)
        band = index + 2
        while band < len(rows) and isinstance(rows[band][1], int | float):
            for label, j in columns.items():
                value = rows[band][j]
                if not isinstance(value, int | float):
                    raise InputError(str(path), f"share {value!r} is not a number", record=band + 1, field=label)
                totals[label] += float(value)
            band += 1
        total = sum(totals.values())
        if abs(total - 1.0) > 1e-6:
            raise InputError(str(path), f"block {title!r}: shares add up to {total:.6f}, not 1", record=line)
        period = match.group("period")
        if period.startswith("<"):
            year_min, year_max = None, int(period[1:]) - 1
        elif period.startswith(">"):
            year_min, year_max = int(period[1:]) + 1, None
        else:
            first, last = period.split("-")
            year_min, year_max = int(first), int(last)
        shares = {label: totals[label] for label in LABELS}
        shares["A"] = sum(totals[label] for label in _XLSX_LABELS if label.startswith("A"))
        blocks.append(WoonBlock(title.strip(), match.group("type"), year_min, year_max, int(n_match.group(1)), shares))
    if not blocks:
        raise InputError(str(path), "no '<type> <period>' blocks found")
    return blocks


def _covers(block: WoonBlock, year_min: int | None, year_max: int | None) -> bool:
    lower_ok = block.year_min is None or (year_min is not None and year_min >= block.year_min)
    upper_ok = block.year_max is None or (year_max is not None and year_max <= block.year_max)
    return lower_ok and upper_ok


def spread_kernel(blocks: list[WoonBlock]) -> dict[int, float]:
    """Share of dwellings by label offset from their block's median label, pooled over blocks
    weighted by the number of WoON2018 dwellings in each block."""
    weights: dict[int, float] = {}
    total = sum(b.n_dwellings for b in blocks)
    for block in blocks:
        centre = LABELS.index(block.median_label)
        for i, label in enumerate(LABELS):
            weights[i - centre] = weights.get(i - centre, 0.0) + block.shares[label] * block.n_dwellings / total
    return dict(sorted(weights.items()))


def _kernel_shares(kernel: dict[int, float], centre_label: str) -> dict[str, float]:
    """Kernel placed on a centre label; mass beyond A or G stays on A or G."""
    centre = LABELS.index(centre_label)
    shares = dict.fromkeys(LABELS, 0.0)
    for offset, weight in kernel.items():
        shares[LABELS[min(max(centre + offset, 0), len(LABELS) - 1)]] += weight
    return shares


def label_distribution_table(blocks: list[WoonBlock], default_labels: pl.DataFrame) -> pl.DataFrame:
    """Label shares for dwellings without a registered label, per dwelling-type class x build-year class."""
    old = [b for b in blocks if b.year_max is not None and b.year_max < KERNEL_ERA_BREAK]
    new = [b for b in blocks if b.year_min is not None and b.year_min >= KERNEL_ERA_BREAK]
    if not old or not new:
        raise InputError("energielabel_spreiding", f"need blocks before and from {KERNEL_ERA_BREAK} for the kernels")
    kernels = {"pre": spread_kernel(old), "post": spread_kernel(new)}
    kernel_text = {
        era: "; ".join(f"{offset:+d}: {weight:.4f}" for offset, weight in kernels[era].items()) for era in kernels
    }
    kernel_blocks = {era: ", ".join(f"'{b.title}' (n={b.n_dwellings})" for b in group)
                     for era, group in (("pre", old), ("post", new))}
    default = {(t, c): v for t, c, v in default_labels.select("vesta_type", "build_year_class", "value").iter_rows()}
    rows = []
    for type_class, _, vesta_type, _ in DWELLING_TYPE_CLASSES:
        for class_name, year_min, year_max, _ in BUILD_YEAR_CLASSES:
            block = next((b for b in blocks if b.vesta_type == vesta_type and _covers(b, year_min, year_max)), None)
            if block is not None:
                shares = block.shares
                method = "woon2018_block"
                source = f"{WOON_SPREIDING}, block '{block.title}'"
                note = (f"WoON2018 weighted shares of block '{block.title}' ({block.n_dwellings} dwellings in "
                        "WoON2018), vormfactor bands summed, A++++..A counted as A")
            else:
                era = "post" if year_min is not None and year_min >= KERNEL_ERA_BREAK else "pre"
                centre = default[(vesta_type, class_name)]
                shares = _kernel_shares(kernels[era], centre)
                method = f"vesta_default_label_kernel_{'from' if era == 'post' else 'before'}_{KERNEL_ERA_BREAK}"
                source = (f"centre: {WONINGEN_BAG}, Default_label of '{vesta_type}' / '{class_name}' = {centre}; "
                          f"spread: {WOON_SPREIDING}, blocks {kernel_blocks[era]}")
                note = (f"kernel of label offsets from each WoON2018 block's median label, pooled by dwellings "
                        f"({kernel_text[era]}), centred on Vesta Default_label {centre}; mass beyond A or G kept on "
                        "A or G")
            for label in LABELS:
                rows.append({
                    "parameter_set": LABEL_PARAMETER_SET, "dwelling_type_class": type_class,
                    "build_year_class": class_name, "label": label, "name": "share",
                    "value": round(shares[label], 9), "unit": "fraction of dwellings without a registered label",
                    "low": None, "high": None, "method": method, "source": source, "note": note,
                })
    table = pl.DataFrame(rows, schema_overrides={"low": pl.Float64, "high": pl.Float64})
    # Rounding to 9 decimals can leave sums a few 1e-9 off; put the remainder on the largest share.
    residual = table.group_by("dwelling_type_class", "build_year_class", maintain_order=True).agg(
        (1.0 - pl.col("value").sum()).alias("residual"), pl.col("label").get(pl.col("value").arg_max()).alias("top")
    )
    return (
        table.join(residual, on=["dwelling_type_class", "build_year_class"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("label") == pl.col("top"))
            .then((pl.col("value") + pl.col("residual")).round(9))
            .otherwise(pl.col("value"))
            .alias("value")
        )
        .drop("residual", "top")
    )


def derive_all(shared_data_dir: Path) -> dict[str, pl.DataFrame]:
    """All housing parameter tables, by file name, from the source files under ``shared_data_dir``."""
    woningen_path = shared_data_dir / "vesta_kentallen" / "data" / "20241016_Woningen_BAG.csv"
    spreiding_path = shared_data_dir / "bag_testarea_denhaag" / "energielabel_spreiding_subset.xlsx"
    woningen = read_woningen_bag(woningen_path)
    defaults = default_labels_table(woningen, woningen_path)
    return {
        "build_year_classes.csv": build_year_classes_table(),
        "dwelling_type_classes.csv": dwelling_type_classes_table(),
        "heat_demand_dwellings.csv": heat_demand_table(woningen, woningen_path),
        "vesta_default_labels.csv": defaults,
        "label_distribution.csv": label_distribution_table(read_woon_spreiding(spreiding_path), defaults),
    }


def write_all(shared_data_dir: Path, out_dir: Path) -> list[Path]:
    """Write the tables; the repetitive ones cite by id, their rows of citations.csv updated in place."""
    return write_tables(derive_all(shared_data_dir), out_dir, null_value="")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print("usage: python -m wup_pipeline.parameters.derive <shared data dir> [<output dir>]", file=sys.stderr)
        return 2
    out_dir = Path(args[1]) if len(args) == 2 else Path(__file__).resolve().parent
    for path in write_all(Path(args[0]), out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
