"""CBS Kerncijfers wijken en buurten (KWB) of the SYNTHETIC demo municipality: column metadata and rows.

``data_properties()`` is a topic tree of the 2024 kind (``85984NED``): a subset of the real topics with
the real key stems, titles and units, keys numbered by running position like CBS does (so the suffixes
differ from the real table's). Besides the 2024 build-year pair it also carries the pre-2024 pair
``BouwjaarVoor2000`` / ``BouwjaarVanaf2000``. ``kwb_values()`` aggregates the ground truth per gemeente,
wijk and buurt with CBS's conventions (rounding and suppression: ``calibration.SUPPRESSION``):

* percentages are whole percents of all dwellings (of occupied dwellings for district heating), so
  koop + huur need not add up to exactly 100;
* gas and electricity averages are over occupied dwellings, gas only over those with a gas connection
  or district heating (all-electric dwellings are left out, district-heated ones count with ~0 m3);
* income per inhabitant and the low-income share are the buurt figures of the ground truth, weighted by
  inhabitants and households for wijk and gemeente;
* surface is the area of the buurt polygons, in whole hectares; there is no water.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from wup_pipeline.demo.calibration import DWELLING_TYPES, SUPPRESSION, Suppression
from wup_pipeline.demo.population import DemoPopulation


@dataclass(frozen=True)
class Topic:
    stem: str
    title: str
    unit: str
    datatype: str  # String, Long or Double
    decimals: int = 0
    value: str | None = None  # column of the aggregated frame; None = always null in the demo
    description: str = ""


@dataclass(frozen=True)
class Group:
    title: str
    children: tuple[Topic | Group, ...]
    description: str = ""


def _pct(stem: str, title: str, value: str | None, datatype: str = "Long", **kw) -> Topic:
    return Topic(stem, title, "%", datatype, 1 if datatype == "Double" else 0, value, **kw)


def _long(stem: str, title: str, unit: str, value: str | None, **kw) -> Topic:
    return Topic(stem, title, unit, "Long", 0, value, **kw)


def _text(stem: str, title: str, unit: str, value: str) -> Topic:
    return Topic(stem, title, unit, "String", 0, value)


def _by_type(unit: str, prefix: str) -> Group:
    return Group("Naar woningtype", tuple(
        _long(stem, title, unit, f"{prefix}_{kind}") for stem, title, kind in (
            ("Appartement", "Appartement", "apartment"),
            ("Tussenwoning", "Tussenwoning", "terraced"),
            ("Hoekwoning", "Hoekwoning", "corner"),
            ("TweeOnderEenKapWoning", "Twee-onder-één-kap-woning", "semi_detached"),
            ("VrijstaandeWoning", "Vrijstaande woning", "detached"),
        )
    ))


def _by_owner(unit: str, prefix: str) -> Group:
    return Group("Naar eigendom", (
        _long("Huurwoning", "Huurwoning", unit, f"{prefix}_rented"),
        _long("EigenWoning", "Eigen woning", unit, f"{prefix}_owner_occupied"),
    ))


NOT_SYNTHESISED = "Demo: niet gesynthetiseerd (geen landelijk ijkpunt), altijd leeg."

TOPIC_TREE: tuple[Group, ...] = (
    Group("Regioaanduiding", (
        _text("Gemeentenaam", "Gemeentenaam", "naam", "gemeentenaam"),
        _text("SoortRegio", "Soort regio", "omschrijving", "soort_regio"),
        _text("Codering", "Codering", "code", "codering"),
        _text("IndelingswijzigingGemeenteWijkBuurt", "Indelingswijziging gemeente, wijk, buurt", "code",
              "indelingswijziging"),
    )),
    Group("Bevolking", (
        _long("AantalInwoners", "Aantal inwoners", "aantal", "inwoners",
              description="Demo: wijken en buurten afgerond op vijftallen."),
        Group("Particuliere huishoudens", (
            _long("HuishoudensTotaal", "Huishoudens totaal", "aantal", "huishoudens"),
            Topic("GemiddeldeHuishoudensgrootte", "Gemiddelde huishoudensgrootte", "aantal", "Double", 1,
                  "huishoudensgrootte"),
        )),
        _long("Bevolkingsdichtheid", "Bevolkingsdichtheid", "aantal inwoners per km²", "bevolkingsdichtheid"),
    )),
    Group("Wonen en vastgoed", (
        _long("Woningvoorraad", "Woningvoorraad", "aantal", "woningen"),
        _long("GemiddeldeWOZWaardeVanWoningen", "Gemiddelde WOZ-waarde van woningen", "x 1 000 euro", "woz"),
        Group("Woningen naar type", (
            _pct("PercentageEengezinswoning", "Percentage eengezinswoning", "pct_eengezins"),
            _pct("PercentageTussenwoningEengezins", "Percentage tussenwoning (eengezins)", "pct_terraced"),
            _pct("PercentageHoekwoningEengezins", "Percentage hoekwoning (eengezins)", "pct_corner"),
            _pct("PercentageTweeOnderEenKapWoningEe", "Percentage twee-onder-één-kap-woning (eengezins)",
                 "pct_semi_detached"),
            _pct("PercentageVrijstaandeWoningEengezins", "Percentage vrijstaande woning (eengezins)",
                 "pct_detached"),
            _pct("PercentageMeergezinswoning", "Percentage meergezinswoning", "pct_apartment"),
        )),
        _pct("OnbewoondeWoningen", "Onbewoonde woningen", "pct_unoccupied"),
        Group("Woningen naar eigendom", (
            _pct("Koopwoningen", "Koopwoningen", "pct_owner_occupied"),
            Group("Huurwoningen", (
                _pct("HuurwoningenTotaal", "Huurwoningen totaal", "pct_rented"),
                _pct("InBezitWoningcorporatie", "In bezit woningcorporatie", "pct_corporation"),
                _pct("InBezitOverigeVerhuurders", "In bezit overige verhuurders", "pct_private_rent"),
            )),
        )),
        Group("Woningen naar bouwjaar", (
            _pct("BouwjaarMeerDanTienJaarGeleden", "Bouwjaar meer dan tien jaar geleden",
                 "pct_built_over_10_years_ago"),
            _pct("BouwjaarAfgelopenTienJaar", "Bouwjaar afgelopen tien jaar", "pct_built_last_10_years"),
            _pct("BouwjaarVoor2000", "Bouwjaar voor 2000", "pct_built_before_2000",
                 description="Demo: de indeling van voor 2024, naast de indeling van 2024 opgenomen."),
            _pct("BouwjaarVanaf2000", "Bouwjaar vanaf 2000", "pct_built_from_2000"),
        )),
    )),
    Group("Energie", (
        Group("Gemiddelde elektriciteitslevering", (
            _long("GemiddeldeElektriciteitsleveringTotaal", "Gemiddelde elektriciteitslevering totaal", "kWh",
                  "elec_all", description="Demo: bewoonde woningen; afgerond op tientallen, vermeld bij zes "
                  "of meer woningen."),
            _by_type("kWh", "elec"),
            _by_owner("kWh", "elec"),
        )),
        Group("Gemiddeld aardgasverbruik", (
            _long("GemiddeldAardgasverbruikTotaal", "Gemiddeld aardgasverbruik totaal", "m³", "gas_all",
                  description="Demo: bewoonde woningen met aardgasaansluiting of stadsverwarming; "
                  "afgerond op tientallen, vermeld bij zes of meer woningen."),
            _by_type("m³", "gas"),
            _by_owner("m³", "gas"),
            _pct("PercentageWoningenMetStadsverwarming", "Percentage woningen met stadsverwarming",
                 "pct_district_heating", "Double"),
        )),
    )),
    Group("Inkomen", (
        Group("Inkomen van personen", (
            Topic("GemiddeldInkomenPerInwoner", "Gemiddeld inkomen per inwoner", "x 1 000 euro", "Double", 1,
                  "inkomen_per_inwoner",
                  description="Demo: vermeld bij minimaal 2 500 personen in particuliere huishoudens."),
        )),
        Group("Inkomen van huishoudens", (
            Topic("GemGestandaardiseerdInkomenVanHuish", "Gem. gestandaardiseerd inkomen van huish",
                  "x 1 000 euro", "Double", 1, description=NOT_SYNTHESISED),
            _pct("HuishoudensMetEenLaagInkomen", "Huishoudens met een laag inkomen", "pct_laag_inkomen",
                 "Double", description="Demo: vermeld bij minimaal 100 huishoudens."),
            _pct("HuishoudensTot110VanSociaalMinimum", "Huishoudens tot 110% van sociaal minimum", None,
                 "Double", description=NOT_SYNTHESISED),
        )),
    )),
    Group("Oppervlakte", (
        _long("OppervlakteTotaal", "Oppervlakte totaal", "ha", "opp_totaal"),
        _long("OppervlakteLand", "Oppervlakte land", "ha", "opp_land"),
        _long("OppervlakteWater", "Oppervlakte water", "ha", "opp_water"),
    )),
)


def _walk(nodes, parent_id: int | None, counter: dict) -> Iterator[tuple[int, int | None, Topic | Group]]:
    for node in nodes:
        counter["id"] += 1
        node_id = counter["id"]
        yield node_id, parent_id, node
        if isinstance(node, Group):
            yield from _walk(node.children, node_id, counter)


def topics() -> list[tuple[str, Topic]]:
    """(CBS key, topic) in position order: key = stem + '_' + running position."""
    keyed, position = [], 0
    for _, _, node in _walk(TOPIC_TREE, None, {"id": 0}):
        if isinstance(node, Topic):
            position += 1
            keyed.append((f"{node.stem}_{position}", node))
    return keyed


def data_properties(year: int) -> list[dict]:
    """The DataProperties 'value' list: GeoDetail, TopicGroups and Topics like CBS serves them."""
    entries = [{
        "odata.type": "Cbs.OData.GeoDetail", "ID": 0, "Position": 0, "ParentID": None, "Type": "GeoDetail",
        "Key": "WijkenEnBuurten", "Title": "Wijken en buurten", "Description": "", "MapYear": year,
    }]
    position = 0
    for node_id, parent_id, node in _walk(TOPIC_TREE, None, {"id": 0}):
        if isinstance(node, Group):
            entries.append({
                "odata.type": "Cbs.OData.TopicGroup", "ID": node_id, "Position": None, "ParentID": parent_id,
                "Type": "TopicGroup", "Key": "", "Title": node.title, "Description": node.description,
            })
            continue
        position += 1
        entries.append({
            "odata.type": "Cbs.OData.Topic", "ID": node_id, "Position": position, "ParentID": parent_id,
            "Type": "Topic", "Key": f"{node.stem}_{position}", "Title": node.title,
            "Description": node.description, "Datatype": node.datatype, "Unit": node.unit,
            "Decimals": node.decimals, "Default": "Impossible",
            "PresentationType": "Absolute" if node.unit in ("aantal", "ha") else
            "Relative" if node.unit == "%" else "",
        })
    return entries


# --- aggregation --------------------------------------------------------------------------------------

def _regions(population: DemoPopulation, frame: pl.DataFrame) -> pl.DataFrame:
    """Stack a per-buurt or per-dwelling frame three times: as gemeente, as wijk and as buurt."""
    gemeente = pl.lit(population.gemeente_code)
    return pl.concat([
        frame.with_columns(gemeente.alias("region"), pl.lit("Gemeente").alias("level")),
        frame.with_columns(pl.col("wijk_code").alias("region"), pl.lit("Wijk").alias("level")),
        frame.with_columns(pl.col("buurt_code").alias("region"), pl.lit("Buurt").alias("level")),
    ])


def _half_up(expr: pl.Expr, step: float = 1.0) -> pl.Expr:
    return (expr / step + 0.5).floor() * step


def _share(condition: pl.Expr, minimum: int) -> pl.Expr:
    """Whole percent of the dwellings that meet ``condition``; null below ``minimum`` dwellings."""
    return pl.when(pl.len() >= minimum).then(_half_up(100 * condition.sum() / pl.len())).cast(pl.Int64)


def _average(value: str, where: pl.Expr, s: Suppression) -> pl.Expr:
    mean = _half_up(pl.col(value).filter(where).mean(), s.round_energy_to)
    return pl.when(where.sum() >= s.min_dwellings_energy).then(mean).cast(pl.Int64)


def kwb_values(population: DemoPopulation, year: int, s: Suppression = SUPPRESSION) -> pl.DataFrame:
    """One row per region (gemeente, its wijken, its buurten), one column per Topic.value, CBS-rounded."""
    d = _regions(population, population.dwellings)
    occ = pl.col("occupied")
    gas_counted = occ & (pl.col("heating") != "heat_pump")
    district_heating = pl.col("heating") == "district_heating"
    rented = pl.col("owner_type") != "owner_occupied"
    dtype = pl.col("dwelling_type")
    n = pl.len()
    housing = s.min_dwellings_housing
    dwellings = d.group_by("region", "level", maintain_order=True).agg(
        n.alias("woningen"),
        occ.sum().alias("households_exact"),
        pl.col("household_size").sum().alias("inhabitants_exact"),
        pl.when(n >= housing).then(_half_up(pl.col("woz_eur").mean() / 1000)).cast(pl.Int64).alias("woz"),
        _share(dtype != "apartment", housing).alias("pct_eengezins"),
        _share(dtype == "apartment", housing).alias("pct_apartment"),
        *[_share(dtype == t, housing).alias(f"pct_{t}")
          for t in ("terraced", "corner", "semi_detached", "detached")],
        _share(~occ, housing).alias("pct_unoccupied"),
        _share(pl.col("owner_type") == "owner_occupied", housing).alias("pct_owner_occupied"),
        _share(rented, housing).alias("pct_rented"),
        _share(pl.col("owner_type") == "corporation", housing).alias("pct_corporation"),
        _share(pl.col("owner_type") == "private_rent", housing).alias("pct_private_rent"),
        _share(pl.col("build_year") < year - 10, housing).alias("pct_built_over_10_years_ago"),
        _share(pl.col("build_year") >= year - 10, housing).alias("pct_built_last_10_years"),
        _share(pl.col("build_year") < 2000, housing).alias("pct_built_before_2000"),
        _share(pl.col("build_year") >= 2000, housing).alias("pct_built_from_2000"),
        _average("electricity_kwh", occ, s).alias("elec_all"),
        *[_average("electricity_kwh", occ & (dtype == t), s).alias(f"elec_{t}") for t in DWELLING_TYPES],
        _average("electricity_kwh", occ & rented, s).alias("elec_rented"),
        _average("electricity_kwh", occ & ~rented, s).alias("elec_owner_occupied"),
        _average("gas_m3", gas_counted, s).alias("gas_all"),
        *[_average("gas_m3", gas_counted & (dtype == t), s).alias(f"gas_{t}") for t in DWELLING_TYPES],
        _average("gas_m3", gas_counted & rented, s).alias("gas_rented"),
        _average("gas_m3", gas_counted & ~rented, s).alias("gas_owner_occupied"),
        pl.when(occ.sum() >= s.min_dwellings_district_heating)
        .then(_half_up(100 * (occ & district_heating).sum() / occ.sum(), 0.1).round(1))
        .alias("pct_district_heating"),
    )
    b = _regions(population, population.buurten)
    buurten = b.group_by("region", maintain_order=True).agg(
        (pl.col("income_per_inhabitant_eur") * pl.col("inhabitants")).sum().alias("income_sum"),
        (pl.col("pct_low_income_households") * pl.col("households")).sum().alias("low_income_sum"),
        pl.col("area_m2").sum().alias("area_m2"),
    )
    names = pl.concat([
        pl.DataFrame({"region": [population.gemeente_code], "name": [population.gemeente_name]}),
        population.wijken.select(pl.col("wijk_code").alias("region"), pl.col("wijk_name").alias("name")),
        population.buurten.select(pl.col("buurt_code").alias("region"), pl.col("buurt_name").alias("name")),
    ])
    inhabitants, households = pl.col("inhabitants_exact"), pl.col("households_exact")
    is_gemeente = pl.col("level") == "Gemeente"
    area_ha = _half_up(pl.col("area_m2") / 10_000).cast(pl.Int64)
    return (
        dwellings.join(buurten, on="region", how="left", maintain_order="left")
        .join(names, on="region", how="left", maintain_order="left")
        .with_columns(
            pl.lit(population.gemeente_name).alias("gemeentenaam"),
            pl.col("level").alias("soort_regio"),
            pl.col("region").alias("codering"),
            pl.lit("1").alias("indelingswijziging"),
            pl.when(is_gemeente).then(inhabitants)
            .otherwise(_half_up(inhabitants, s.round_counts_to)).cast(pl.Int64).alias("inwoners"),
            pl.when(is_gemeente).then(households)
            .otherwise(_half_up(households, s.round_counts_to)).cast(pl.Int64).alias("huishoudens"),
            pl.when(households > 0).then(_half_up(inhabitants / households, 0.1).round(1))
            .alias("huishoudensgrootte"),
            pl.when(inhabitants >= s.min_inhabitants_density)
            .then(_half_up(inhabitants / (pl.col("area_m2") / 1e6))).cast(pl.Int64)
            .alias("bevolkingsdichtheid"),
            pl.when(inhabitants >= s.min_persons_income)
            .then(_half_up(pl.col("income_sum") / inhabitants / 1000, 0.1).round(1))
            .alias("inkomen_per_inwoner"),
            pl.when(households >= s.min_households_income_shares)
            .then(_half_up(pl.col("low_income_sum") / households, 0.1).round(1)).alias("pct_laag_inkomen"),
            area_ha.alias("opp_totaal"),
            area_ha.alias("opp_land"),
            pl.lit(0, dtype=pl.Int64).alias("opp_water"),
        )
    )


def typed_rows(population: DemoPopulation, year: int) -> list[dict]:
    """TypedDataSet 'value' rows in CBS order (gemeente, then each wijk followed by its buurten)."""
    values = kwb_values(population, year)
    order = [population.gemeente_code]
    for wijk in population.wijken["wijk_code"]:
        order.append(wijk)
        order.extend(population.buurten.filter(pl.col("wijk_code") == wijk)["buurt_code"])
    by_region = {row["region"]: row for row in values.iter_rows(named=True)}
    keyed = topics()
    rows = []
    for index, region in enumerate(order):
        record = by_region[region]
        row = {"ID": index, "WijkenEnBuurten": region.ljust(10)}
        for key, topic in keyed:
            value = record[topic.value] if topic.value else None
            if topic.datatype == "String" and value is not None:
                value = _pad_string(topic.stem, value)
            row[key] = value
        rows.append(row)
    return rows


def _pad_string(stem: str, value: str) -> str:
    """CBS pads string topics to the column width: names to 40, region kinds and codes to 10."""
    width = {"Gemeentenaam": 40, "SoortRegio": 10, "Codering": 10}.get(stem, len(value))
    return value.ljust(width)
