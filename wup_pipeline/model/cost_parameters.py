"""Cost-model parameters for one parameter set, year and scenario, with the row ids they came from.

The tables are ``costs_general.csv`` (scalars, some per year), ``costs_building_kentallen.csv``
(Vesta demand and shell-step investments per building type x build-year class) and
``costs_building_stock.csv`` (the national stock mix). Year-dependent scalars are interpolated
linearly between the years given and held flat outside them. A scenario picks the ``low`` or
``high`` column instead of ``value`` for one group of parameters (energy prices or investments),
which is how :func:`wup_pipeline.model.costs.sensitivity` varies them.

Every figure of the model can name its parameter rows as ``<file>:<parameter set>:<name>``
(``row_id``); for the building tables the name covers all rows of that name, whose type, build-year
and label qualifiers follow from the buurt's stock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.errors import InputError

PARAMETER_SETS = ("default", "startanalyse-2020")
SCENARIOS = ("central", "low_energy_prices", "high_energy_prices", "low_investment", "high_investment")
GENERAL_FILE = "costs_general"
KENTALLEN_FILE = "costs_building_kentallen"
STOCK_FILE = "costs_building_stock"

# Which parameters a scenario moves: energy supply prices, or investment amounts (the min/max of
# the published ranges; learning curves and rates stay central).
_PRICE_PATTERN = re.compile(r"_price_national_")
_INVESTMENT_PATTERN = re.compile(r"(invest|_cost|heat_connection|heat_in_house|removal)")


def _scenario_column(name: str, scenario: str) -> str:
    if scenario in ("low_energy_prices", "high_energy_prices") and _PRICE_PATTERN.search(name):
        return "low" if scenario.startswith("low") else "high"
    if scenario in ("low_investment", "high_investment") and _INVESTMENT_PATTERN.search(name):
        return "low" if scenario.startswith("low") else "high"
    return "value"


@lru_cache(maxsize=4)
def _table(name: str) -> pl.DataFrame:
    return load_parameters(name)


def _check_set(parameter_set: str) -> None:
    if parameter_set not in PARAMETER_SETS:
        raise InputError(
            f"wup_pipeline.parameters/{GENERAL_FILE}.csv",
            f"unknown parameter set {parameter_set!r} (known: {', '.join(PARAMETER_SETS)})",
            field="parameter_set",
        )


def _interpolate(rows: pl.DataFrame, column: str, year: int) -> float:
    """Value for ``year`` from rows with a ``year`` column: linear between years, flat outside."""
    rows = rows.sort("year")
    years, values = rows["year"].to_list(), rows[column].fill_null(rows["value"]).to_list()
    if year <= years[0]:
        return float(values[0])
    if year >= years[-1]:
        return float(values[-1])
    for (y0, v0), (y1, v1) in zip(
        zip(years, values, strict=True), zip(years[1:], values[1:], strict=True), strict=False
    ):
        if y0 <= year <= y1:
            return float(v0 + (v1 - v0) * (year - y0) / (y1 - y0))
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class CostParameters:
    """Resolved parameters. ``p["name"]`` gives a scalar; ``row_id("name")`` its parameter row id."""

    parameter_set: str
    year: int
    scenario: str
    scalars: dict[str, float]
    kentallen: pl.DataFrame = field(repr=False)
    stock: pl.DataFrame = field(repr=False)

    def __getitem__(self, name: str) -> float:
        try:
            return self.scalars[name]
        except KeyError:
            raise InputError(
                f"wup_pipeline.parameters/{GENERAL_FILE}.csv",
                f"no parameter {name!r} in set {self.parameter_set!r}",
                field="name",
            ) from None

    def row_id(self, name: str, file: str = GENERAL_FILE) -> str:
        return f"{file}:{self.parameter_set}:{name}"


@lru_cache(maxsize=64)
def load_cost_parameters(parameter_set: str = "default", year: int = 2030, scenario: str = "central") -> CostParameters:
    """The parameters of ``parameter_set`` resolved for ``year`` and ``scenario`` (cached)."""
    _check_set(parameter_set)
    if scenario not in SCENARIOS:
        raise InputError(
            "cost model", f"unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})", field="scenario"
        )
    general = _table(GENERAL_FILE).filter(pl.col("parameter_set") == parameter_set)
    scalars: dict[str, float] = {}
    for (name,), rows in general.group_by("name", maintain_order=True):
        column = _scenario_column(name, scenario)
        if rows["year"].is_null().all():
            value = rows[column][0]
            scalars[name] = float(rows["value"][0] if value is None else value)
        else:
            scalars[name] = _interpolate(rows.filter(pl.col("year").is_not_null()), column, year)
    kentallen = _table(KENTALLEN_FILE).filter(pl.col("parameter_set") == parameter_set)
    if scenario in ("low_investment", "high_investment"):
        column = "low" if scenario == "low_investment" else "high"
        kentallen = kentallen.with_columns(
            pl.when(pl.col("name").str.starts_with("insulation_step") & pl.col(column).is_not_null())
            .then(pl.col(column))
            .otherwise(pl.col("value"))
            .alias("value")
        )
    stock = _table(STOCK_FILE).filter(pl.col("parameter_set") == parameter_set)
    return CostParameters(parameter_set, year, scenario, scalars, kentallen, stock)


def annuity_factor(rate: float, lifetime: float) -> float:
    """Capital recovery factor: the yearly payment that repays 1 over ``lifetime`` years at ``rate``
    (Vesta NcwSchema.dms: 1 / ((1 - (1 + r)^-L) / r)); 1 / L at rate 0."""
    if lifetime <= 0:
        raise ValueError("lifetime must be positive")
    if rate == 0:
        return 1.0 / lifetime
    return rate / (1.0 - (1.0 + rate) ** -lifetime)


def delayed_annuity_factor(rate: float, first_year: float, last_year: float) -> float:
    """Vesta's annualisation of heat-network investments: the investment divided by the present value
    of one euro a year from ``first_year`` to ``last_year`` (NcwSchema.dms, DurationFactor)."""
    if last_year <= first_year:
        raise ValueError("last_year must be after first_year")
    if rate == 0:
        return 1.0 / (last_year - first_year)
    duration = ((1.0 + rate) ** -first_year - (1.0 + rate) ** -last_year) / rate
    return 1.0 / duration
