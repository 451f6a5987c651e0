"""The suites: one per source table and per key model, keyed by warehouse table in ``SUITES``.

Severity and kind are choices, reviewed like code:
- an ERROR *row* rule on a source moves the failing rows to quarantine (the rest flows on); on a
  model it blocks (a bad row there is a bug in our SQL, not in a delivery);
- an ERROR *table* rule blocks downstream (missing columns, duplicate ids, broken references, a
  delivery that shrank or grew by more than the allowed share);
- WARN annotates: plausible-but-odd values, freshness, vocabularies we do not own.

Facts used (with their source):
- BAG ids are 16 digits: 4 digits gemeente code, 2 digits object type (01 verblijfsobject,
  10 pand, 20 nummeraanduiding), 10 digits serial (Kadaster, Catalogus BAG 2018 / IMBAG 2.0).
  All 31,293 VBO, pand and nummeraanduiding ids in ../shared/data/bag_testarea_denhaag follow it.
- BAG fills ``oorspronkelijk bouwjaar`` 1005 when the year is unknown. Such a pand is real, only its
  age is not: 1005 is a WARN (annotated, kept), other years outside 1000..next year are quarantined.
- Postcodes are 4 digits (1000-9999) and 2 capitals (PostNL). 1,076 of the 31,293 VBO in the Den Haag
  test area have no postcode at all (non-residential objects), so a missing postcode is a WARN.
- 283 of those 31,293 VBO (0.9 %) point to a pand outside the 1x2 km clip: the VBO -> pand reference
  tolerates 1 % (``mostly=0.99``) so area clips pass while a broken id mapping (0 % match) fails.
- RD New (EPSG:28992) area of use is lon 3.2-7.22, lat 50.75-53.7 (EPSG registry, via pyproj), i.e.
  x ~ 650-284,350 m and y ~ 306,670-637,110 m: coordinates outside x 0-300,000, y 300,000-650,000 are wrong.
- Energy label classes A++++ .. G (NTA 8800, in force since 1 January 2021; older labels use A++ .. G,
  a subset).
- CBS Kerncijfers wijken en buurten: region codes GM + 4, WK + 6, BU + 8 digits, delivered
  space-padded in ``WijkenEnBuurten``; the columns checked as 0-100 are published as percentages (%).
- CBS energy per buurt (e.g. 86159NED) and heating installations (e.g. 85677NED): averages in m3 and kWh per
  dwelling, shares in % (units checked against DataProperties by sources/cbs_energie.py). The NET electricity
  delivery is delivery minus feed-in (solar panels), so it may be negative; gross delivery and gas may not.
- Grid operators' small-consumer files: one row per postcode range (POSTCODE_VAN..POSTCODE_TOT) with at least
  10 connections (the operators' privacy rule, docs/sources/kleinverbruik.md); shares in %.
- Municipal templates (docs/templates.md): years 1990-2100, counts of households 0 or more, the listed
  categories; a buurt code that is not in the area's PDOK buurten is a WARN (the marts leave it out, silently
  otherwise).
- Natural gas lower heating value 31.65 MJ/m3 (PBL Vesta 3.0 functional design, formula 10); the HR boiler
  efficiency on lower heating value is 1.04-1.07 for space heating, 0.72 for hot water (formula 81): a value
  outside 25-45 MJ/m3 or 0.5-1.2 is a parameter in the wrong unit.
"""

from __future__ import annotations

import datetime as dt

from wup_pipeline.checks.expectations import (
    CurrentYear,
    DaysAgo,
    Expectation,
    Severity,
    Suite,
    between,
    fresh_snapshot,
    in_set,
    matches,
    not_before,
    not_in_set,
    not_null,
    references,
    required_columns,
    row_count_near_previous,
    suite,
    unique,
)

WARN = Severity.WARN

GM_CODE = r"^GM[0-9]{4}$"
WK_CODE = r"^WK[0-9]{6}$"
BU_CODE = r"^BU[0-9]{8}$"
REGION_CODE = r"^(GM[0-9]{4}|WK[0-9]{6}|BU[0-9]{8})$"
POSTCODE = r"^[1-9][0-9]{3}[A-Z]{2}$"
BAG_ID = r"^[0-9]{16}$"
VBO_ID = r"^[0-9]{4}01[0-9]{10}$"
PAND_ID = r"^[0-9]{4}10[0-9]{10}$"
NUMMERAANDUIDING_ID = r"^[0-9]{4}20[0-9]{10}$"
CBS_TABLE_ID = r"^[0-9]{5}NED$"  # e.g. 85984NED
ENERGY_LABELS = ("A++++", "A+++", "A++", "A+", "A", "B", "C", "D", "E", "F", "G")
BAG_UNKNOWN_BUILD_YEAR = 1005
GEBRUIKSDOELEN = ("woonfunctie", "bijeenkomstfunctie", "celfunctie", "gezondheidszorgfunctie", "industriefunctie",
                  "kantoorfunctie", "logiesfunctie", "onderwijsfunctie", "sportfunctie", "winkelfunctie",
                  "overige gebruiksfunctie")
GEBRUIKSDOEL_LIST = "^(" + "|".join(GEBRUIKSDOELEN) + ")(,(" + "|".join(GEBRUIKSDOELEN) + "))*$"
VBO_STATUSES = ("Verblijfsobject gevormd", "Verblijfsobject in gebruik", "Verblijfsobject in gebruik (niet ingemeten)",
                "Verblijfsobject ingetrokken", "Verblijfsobject buiten gebruik", "Verbouwing verblijfsobject",
                "Niet gerealiseerd verblijfsobject", "Verblijfsobject ten onrechte opgevoerd")
PAND_STATUSES = ("Bouwvergunning verleend", "Bouw gestart", "Pand in gebruik", "Pand in gebruik (niet ingemeten)",
                 "Verbouwing pand", "Sloopvergunning verleend", "Pand gesloopt", "Pand buiten gebruik",
                 "Niet gerealiseerd pand", "Pand ten onrechte opgevoerd")
# The project's own vocabularies (wup_pipeline/demo/calibration.py); a model may add values: WARN only.
DWELLING_TYPES = ("apartment", "terraced", "corner", "semi_detached", "detached")
OWNER_TYPES = ("owner_occupied", "corporation", "private_rent")
RENT_CLASSES = ("sociaal", "middenhuur", "vrije_sector")  # docs/templates.md
RD_X = (0, 300_000)
RD_Y = (300_000, 650_000)
LABEL_FILE_START = dt.datetime(2006, 1, 1)  # EP-Online registrations start well after this

CBS_PERCENTAGES = (
    "percentage_eengezinswoning", "percentage_meergezinswoning", "koopwoningen", "huurwoningen_totaal",
    "in_bezit_woningcorporatie", "in_bezit_overige_verhuurders", "bouwjaar_voor_2000", "bouwjaar_vanaf_2000",
    "bouwjaar_meer_dan_tien_jaar_geleden", "bouwjaar_afgelopen_tien_jaar", "percentage_woningen_met_stadsverwarming",
    "huishoudens_met_laag_inkomen", "huishoudens_tot_110_van_sociaal_minimum",
)
CBS_COUNTS = ("aantal_inwoners", "huishoudens_totaal", "woningvoorraad")
STAGING_PERCENTAGES = (
    "pct_single_family", "pct_multi_family", "pct_owner_occupied", "pct_rented", "pct_corporation",
    "pct_private_rent", "pct_built_before_2000", "pct_built_since_2000", "pct_built_last_10_years",
    "pct_district_heating", "pct_low_income_households", "pct_households_below_110_social_minimum",
)
MART_PERCENTAGES = (
    "pct_owner_occupied", "pct_corporation", "pct_private_rent", "pct_built_before_2000", "pct_built_since_2000",
    "pct_built_last_10_years", "pct_district_heating", "pct_low_income_households",
)


# --- rules many suites share: one expectation per column, or the same pair or tail in every suite ---------------


def percentages(columns, *, severity: Severity = Severity.ERROR) -> list[Expectation]:
    return [between(c, 0, 100, severity=severity, name=f"{c}_percentage") for c in columns]


def not_negative(*columns: str) -> list[Expectation]:
    """Counts, amounts and averages: ``<column>_not_negative``, ERROR."""
    return [between(c, 0, None, name=f"{c}_not_negative") for c in columns]


def statistics_years(*columns: str) -> list[Expectation]:
    """The year of a statistic or delivery: 2000 .. next year, ``<column>_range``, ERROR."""
    return [between(c, 2000, CurrentYear(1), name=f"{c}_range") for c in columns]


def filled_code(column: str, regex: str) -> list[Expectation]:
    """An identifier: present, and in its format (both ERROR)."""
    return [not_null(column), matches(column, regex)]


def filled_one_of(column: str, values) -> list[Expectation]:
    """A category: present, and one of ``values`` (both ERROR)."""
    return [not_null(column), in_set(column, values)]


def delivery_checks(fresh_days: int, *, row_count_severity: Severity = WARN) -> list[Expectation]:
    """A source's tail: rows within 20 % of the last passing delivery, retrieved at most ``fresh_days`` ago."""
    return [row_count_near_previous(0.2, severity=row_count_severity), fresh_snapshot(fresh_days)]


def buurt_mart_keys() -> list[Expectation]:
    """A buurt mart: one row per buurt of the area, with its wijk and gemeente."""
    return [
        *filled_code("buurt_code", BU_CODE),
        unique("buurt_code"),
        references("buurt_code", "staging.stg_pdok__buurten", "buurt_code"),
    ]


def build_year_rules(column: str):
    return [
        between(column, 1000, CurrentYear(1), name=f"{column}_range",
                description=f"{column} between 1000 and next year (a permit may carry next year)"),
        not_in_set(column, [BAG_UNKNOWN_BUILD_YEAR], name=f"{column}_known",
                   description="1005 is BAG's placeholder for an unknown build year"),
    ]


def address_rules(postcode: str = "postcode", house_number: str = "huisnummer",
                  letter: str | None = "huisletter", addition: str | None = "toevoeging",
                  postcode_expected: bool = True):
    rules = [
        matches(postcode, POSTCODE),
        between(house_number, 1, 99_999, name=f"{house_number}_range"),
    ]
    if postcode_expected:
        rules.append(not_null(postcode, severity=WARN))
    if letter:
        rules.append(matches(letter, r"^[A-Za-z]$", severity=WARN))
    if addition:
        rules.append(matches(addition, r"^[A-Za-z0-9]{1,4}$", severity=WARN))
    return rules


CBS_KWB = suite(
    "cbs_kwb", "raw.cbs_kwb",
    required_columns({"wijken_en_buurten": "string", "gemeentenaam": "string", "soort_regio": "string",
                      "codering": "string", **dict.fromkeys(CBS_COUNTS, "number"),
                      "gemiddelde_woz_waarde": "number", **dict.fromkeys(CBS_PERCENTAGES, "number"),
                      "table_id": "string", "period_year": "integer"}),
    not_null("wijken_en_buurten"),
    # CBS pads the code with spaces; staging trims it.
    matches("wijken_en_buurten", r"^(GM[0-9]{4}|WK[0-9]{6}|BU[0-9]{8}) *$", name="wijken_en_buurten_format"),
    unique("wijken_en_buurten"),
    matches("codering", REGION_CODE, severity=WARN),
    matches("soort_regio", r"^(Gemeente|Wijk|Buurt) *$"),
    not_negative(*CBS_COUNTS, "gemiddelde_woz_waarde"),
    between("gemiddelde_woz_waarde", None, 5_000, severity=WARN, name="gemiddelde_woz_waarde_plausible",
            description="average WOZ (x 1,000 euro) at most 5 million euro"),
    percentages(CBS_PERCENTAGES),
    not_negative("gemiddeld_aardgasverbruik"),
    statistics_years("period_year"),
    matches("table_id", CBS_TABLE_ID, severity=WARN),
    delivery_checks(30),
    # A gemeente has a few dozen regions: one bad buurt is already several percent of the table.
    quarantine=True, max_quarantine_share=0.25, key_columns=("wijken_en_buurten",),
    description="CBS Kerncijfers wijken en buurten, one row per region of the gemeente.",
)

PDOK_BUURTEN = suite(
    "pdok_buurten", "raw.pdok_buurten",
    required_columns({"buurtcode": "string", "buurtnaam": "string", "wijkcode": "string", "gemeentecode": "string",
                      "geometry_year": "integer", "geometry": "geometry"}),
    filled_code("buurtcode", BU_CODE),
    unique("buurtcode"),
    matches("wijkcode", WK_CODE),
    matches("gemeentecode", GM_CODE),
    not_null("geometry"),
    not_null("buurtnaam", severity=WARN),
    in_set("water", ["JA", "NEE"], severity=WARN),
    statistics_years("geometry_year"),
    delivery_checks(30),
    quarantine=True, max_quarantine_share=0.25, key_columns=("buurtcode",),
    description="PDOK CBS wijken en buurten: buurt boundaries of the gemeente.",
)

STG_CBS_KWB = suite(
    "stg_cbs__kwb", "staging.stg_cbs__kwb",
    required_columns({"region_code": "string", "region_type": "string", "kwb_year": "integer",
                      "inhabitants": "integer", "households": "integer", "dwellings": "integer",
                      "avg_woz_eur": "number", **dict.fromkeys(STAGING_PERCENTAGES, "number")}),
    filled_code("region_code", REGION_CODE),
    unique("region_code"),
    in_set("region_type", ["gemeente", "wijk", "buurt"]),
    statistics_years("kwb_year"),
    not_negative("inhabitants", "households", "dwellings", "avg_woz_eur", "income_per_inhabitant_eur"),
    percentages(STAGING_PERCENTAGES),
    row_count_near_previous(0.2, severity=WARN),
    description="Staged CBS KWB: trimmed codes, plain units.",
)

STG_PDOK_BUURTEN = suite(
    "stg_pdok__buurten", "staging.stg_pdok__buurten",
    required_columns({"buurt_code": "string", "wijk_code": "string", "gemeente_code": "string",
                      "geometry": "geometry", "area_ha": "number"}),
    filled_code("buurt_code", BU_CODE),
    unique("buurt_code"),
    not_null("geometry"),
    between("area_ha", 0, None, strict_min=True, name="area_ha_positive"),
    description="Staged buurt boundaries with their area.",
)

FACTSCAN_BUURT = suite(
    "factscan_buurt", "marts.factscan_buurt",
    required_columns({"buurt_code": "string", "wijk_code": "string", "gemeente_code": "string",
                      "dwellings": "integer", "inhabitants": "integer", "area_ha": "number",
                      "has_kwb_figures": "boolean", **dict.fromkeys(MART_PERCENTAGES, "number")}),
    buurt_mart_keys(),
    matches("wijk_code", WK_CODE),
    matches("gemeente_code", GM_CODE),
    percentages(MART_PERCENTAGES),
    not_negative("dwellings", "inhabitants", "households", "dwellings_per_ha"),
    between("area_ha", 0, None, strict_min=True, name="area_ha_positive"),
    not_null("has_kwb_figures"),
    row_count_near_previous(0.2, severity=WARN),
    description="The factscan per buurt.",
)

BAG_VERBLIJFSOBJECTEN = suite(
    "bag_verblijfsobjecten", "raw.bag_verblijfsobjecten",
    required_columns({"vbo_id": "string", "pand_id": "string", "nummeraanduiding_id": "string",
                      "postcode": "string", "huisnummer": "integer", "huisletter": "string", "toevoeging": "string",
                      "gebruiksdoel": "string", "oppervlakte_m2": "number", "status": "string",
                      "x_rd": "number", "y_rd": "number", "buurt_code": "string"}),
    filled_code("vbo_id", VBO_ID),
    unique("vbo_id"),
    filled_code("pand_id", PAND_ID),
    references("pand_id", "raw.bag_panden", "pand_id", mostly=0.99),
    matches("nummeraanduiding_id", NUMMERAANDUIDING_ID),
    address_rules(),
    matches("gebruiksdoel", GEBRUIKSDOEL_LIST, severity=WARN),
    between("oppervlakte_m2", 0, 100_000, strict_min=True, strict_max=True, name="oppervlakte_m2_range"),
    not_null("oppervlakte_m2", severity=WARN),
    in_set("status", VBO_STATUSES, severity=WARN),
    between("x_rd", *RD_X, name="x_rd_in_netherlands"),
    between("y_rd", *RD_Y, name="y_rd_in_netherlands"),
    matches("buurt_code", BU_CODE),  # mostly empty in raw: the buurt is assigned in intermediate
    delivery_checks(45, row_count_severity=Severity.ERROR),
    quarantine=True, key_columns=("vbo_id",),
    description="BAG verblijfsobjecten (addressable objects) of the gemeente.",
)

BAG_PANDEN = suite(
    "bag_panden", "raw.bag_panden",
    required_columns({"pand_id": "string", "bouwjaar": "integer", "status": "string",
                      "footprint_area_m2": "number", "geometry_wkt": "string"}),
    filled_code("pand_id", PAND_ID),
    unique("pand_id"),
    build_year_rules("bouwjaar"),
    not_null("bouwjaar", severity=WARN),
    in_set("status", PAND_STATUSES, severity=WARN),
    between("footprint_area_m2", 0, 1_000_000, strict_min=True, severity=WARN, name="footprint_area_m2_range"),
    matches("geometry_wkt", r"^(MULTI)?POLYGON", severity=WARN, name="geometry_wkt_polygon"),
    delivery_checks(45, row_count_severity=Severity.ERROR),
    quarantine=True, key_columns=("pand_id",),
    description="BAG panden (buildings) of the gemeente.",
)

ENERGY_LABELS_SUITE = suite(
    "energy_labels", "raw.energy_labels",
    required_columns({"vbo_id": "string", "postcode": "string", "huisnummer": "integer", "energy_label": "string",
                      "registration_date": "temporal", "valid_until": "temporal"}),
    matches("vbo_id", VBO_ID),
    not_null("vbo_id", severity=WARN),
    unique("vbo_id"),  # one label per verblijfsobject: the newest valid registration (sources/ep_online.py)
    address_rules(),
    filled_one_of("energy_label", ENERGY_LABELS),
    not_null("registration_date", severity=WARN),
    between("registration_date", LABEL_FILE_START, DaysAgo(-1), name="registration_date_range",
            description="registered after 2006 and not in the future"),
    not_before("valid_until", "registration_date"),
    # Not configured means no rows (every label is then estimated): a WARN, not a block.
    delivery_checks(45),
    quarantine=True, key_columns=("vbo_id",),
    description="Registered energy labels (EP-Online), one per verblijfsobject.",
)

CORPORATION_PORTFOLIO = suite(
    "corporation_portfolio", "raw.corporation_portfolio",
    required_columns({"corporation": "string", "vbo_id": "string", "postcode": "string", "house_number": "integer",
                      "energy_label": "string", "label_date": "temporal", "planned_renovation_year": "integer",
                      "rent_class": "string", "matched_vbo_id": "string", "match_method": "string"}),
    not_null("corporation"),
    matches("vbo_id", VBO_ID),
    # Rows are matched to the BAG by id, else by address (sources/corporation_portfolio.py); a wrong id column
    # or another gemeente's portfolio matches next to nothing, a few unmatched rows are normal.
    not_null("matched_vbo_id", mostly=0.95, name="rows_match_a_bag_object",
             description="at least 95 % of the rows match a BAG verblijfsobject"),
    references("matched_vbo_id", "raw.bag_verblijfsobjecten", "vbo_id"),
    unique("matched_vbo_id"),  # one dwelling listed twice would count its owner twice
    address_rules("postcode", "house_number", "house_letter", "house_number_addition", postcode_expected=False),
    in_set("energy_label", ENERGY_LABELS),
    between("label_date", LABEL_FILE_START, DaysAgo(-1), severity=WARN, name="label_date_range"),
    between("planned_renovation_year", CurrentYear(-10), 2100, severity=WARN, name="planned_renovation_year_range"),
    in_set("rent_class", RENT_CLASSES, severity=WARN),
    delivery_checks(400),
    quarantine=True, key_columns=("source_row",),
    description="Housing corporations' portfolio rows (template file), matched to BAG verblijfsobjecten.",
)

INT_DWELLINGS = suite(
    "int_dwellings", "intermediate.int_dwellings",
    required_columns({"vbo_id": "string", "pand_id": "string", "buurt_code": "string", "postcode": "string",
                      "house_number": "integer", "build_year": "integer", "floor_area_m2": "number",
                      "dwelling_type": "string", "energy_label": "string", "owner_type": "string",
                      "heat_demand_gj": "number"}),
    filled_code("vbo_id", VBO_ID),
    unique("vbo_id"),
    filled_code("pand_id", PAND_ID),
    filled_code("buurt_code", BU_CODE),
    references("buurt_code", "staging.stg_pdok__buurten", "buurt_code"),
    matches("postcode", POSTCODE),
    between("house_number", 1, 99_999, name="house_number_range"),
    build_year_rules("build_year"),
    between("floor_area_m2", 0, 100_000, strict_min=True, strict_max=True, name="floor_area_m2_range"),
    in_set("dwelling_type", DWELLING_TYPES, severity=WARN),
    in_set("energy_label", ENERGY_LABELS),
    in_set("label_source", ["registered", "estimated", "none"], severity=WARN),
    in_set("owner_type", OWNER_TYPES, severity=WARN),
    in_set("owner_source", ["corporation_portfolio", "estimated_from_buurt_shares", "none"], severity=WARN),
    not_negative("heat_demand_gj"),
    between("heat_demand_gj", None, 500, severity=WARN, name="heat_demand_gj_plausible",
            description="at most 500 GJ a year for one dwelling"),
    row_count_near_previous(0.2, severity=WARN),
    description="One row per dwelling (BAG verblijfsobject with woonfunctie) with label, owner type and heat demand.",
)

# --- energy sources -------------------------------------------------------------------------------------------

CBS_ENERGY_MEASURES = ("avg_gas_m3", "avg_electricity_kwh", "avg_net_electricity_kwh", "pct_district_heating")
HEATING_PERCENTAGES = ("pct_individual_gas_boiler", "pct_block_heating", "pct_district_heating_high_gas",
                       "pct_district_heating_low_gas", "pct_district_heating_no_gas", "pct_hybrid_heat_pump",
                       "pct_electric_low_gas", "pct_electric_no_gas", "pct_unknown", "pct_gas_free")
REGION_KINDS = ("Land", "Gemeente", "Wijk", "Buurt")  # sources/cbs_energie.REGION_KINDS
WONINGKENMERK_DWELLING_TYPES = ("total", *DWELLING_TYPES)
WONINGKENMERK_OWNERSHIP = ("total", "owner_occupied", "rented")
GRID_PRODUCTS = ("gas", "electricity")
GRID_PERCENTAGES = ("smart_meter_pct", "delivery_direction_pct", "low_tariff_pct")

CBS_ENERGIE_BUURT = suite(
    "cbs_energie_buurt", "raw.cbs_energie_buurt",
    required_columns({"year": "integer", "table_id": "string", "region_code": "string", "region_kind": "string",
                      "woningkenmerk_code": "string", "dwelling_type": "string", "ownership": "string",
                      **dict.fromkeys(CBS_ENERGY_MEASURES, "number")}),
    filled_code("region_code", REGION_CODE),  # trimmed by sources/cbs_energie.py
    filled_one_of("region_kind", REGION_KINDS),
    not_null("woningkenmerk_code"),
    # One row per region and Woningkenmerken member; the framework has no compound uniqueness yet, so a
    # duplicated row shows as a row count jump (and sources/cbs_energie.py rejects duplicated heating rows).
    in_set("dwelling_type", WONINGKENMERK_DWELLING_TYPES, severity=WARN),
    not_null("dwelling_type", severity=WARN, description="the Woningkenmerken member maps to a dwelling type"),
    in_set("ownership", WONINGKENMERK_OWNERSHIP, severity=WARN),
    not_negative("avg_gas_m3"),
    between("avg_gas_m3", None, 10_000, severity=WARN, name="avg_gas_m3_plausible",
            description="at most 10,000 m3 gas per dwelling per year on average"),
    not_negative("avg_electricity_kwh"),
    between("avg_electricity_kwh", None, 50_000, severity=WARN, name="avg_electricity_kwh_plausible",
            description="at most 50,000 kWh per dwelling per year on average"),
    # net delivery = delivery - feed-in: negative where solar panels return more than is taken
    between("avg_net_electricity_kwh", -50_000, 50_000, severity=WARN, name="avg_net_electricity_kwh_plausible"),
    percentages(["pct_district_heating"]),
    statistics_years("year"),
    matches("table_id", CBS_TABLE_ID, severity=WARN),
    delivery_checks(30),
    # A gemeente has a few dozen regions: one bad region (8 member rows) is already several percent.
    quarantine=True, max_quarantine_share=0.25, key_columns=("region_code", "woningkenmerk_code"),
    description="CBS energy use of dwellings per region and Woningkenmerken member (m3 gas, kWh, %).",
)

CBS_HEATING_BUURT = suite(
    "cbs_heating_buurt", "raw.cbs_heating_buurt",
    required_columns({"year": "integer", "table_id": "string", "region_code": "string", "region_kind": "string",
                      **dict.fromkeys(HEATING_PERCENTAGES, "number")}),
    filled_code("region_code", REGION_CODE),
    unique("region_code"),  # one wide row per region
    filled_one_of("region_kind", REGION_KINDS),
    percentages(HEATING_PERCENTAGES),
    statistics_years("year"),
    matches("table_id", CBS_TABLE_ID, severity=WARN),
    delivery_checks(30),
    quarantine=True, max_quarantine_share=0.25, key_columns=("region_code",),
    description="CBS main heating installations of dwellings per region (% of dwellings per kind).",
)

KLEINVERBRUIK = suite(
    "kleinverbruik", "raw.kleinverbruik",
    required_columns({"operator": "string", "year": "integer", "postcode_from": "string", "postcode_to": "string",
                      "product": "string", "connections": "integer", "avg_annual_use": "number",
                      **dict.fromkeys(GRID_PERCENTAGES, "number"), "source_record": "string",
                      "source_file": "string"}),
    not_null("operator"),
    statistics_years("year"),
    filled_code("postcode_from", POSTCODE),
    filled_code("postcode_to", POSTCODE),
    not_before("postcode_to", "postcode_from", name="postcode_range_ordered",
               description="a range ends at or after its first postcode"),
    filled_one_of("product", GRID_PRODUCTS),
    not_negative("connections"),
    between("connections", 10, None, severity=WARN, name="connections_at_least_10",
            description="operators publish ranges of at least 10 connections (privacy rule)"),
    not_negative("avg_annual_use"),
    between("avg_annual_use", None, 100_000, severity=WARN, name="avg_annual_use_plausible",
            description="an average over >= 10 small consumers above 100,000 kWh or m3 a year is not small use"),
    percentages(GRID_PERCENTAGES),
    not_null("source_record"),
    delivery_checks(400),  # published once a year; not configured means no rows (row count: WARN)
    quarantine=True, key_columns=("source_file", "source_record"),
    description="Grid operators' small-consumer data: connections and standard annual use per postcode range.",
)

# --- municipal files -----------------------------------------------------------------------------------------

INFRA_ASSETS = ("riolering", "weg", "gasleiding", "elektriciteitsnet", "warmtenet", "water")  # docs/templates.md
INFRA_MEASURES = ("vervanging", "renovatie", "aanleg")
INITIATIVE_KINDS = ("energiecoöperatie", "collectieve_inkoop", "warmtenet_initiatief", "isolatieproject", "overig")
INITIATIVE_STATUSES = ("idee", "lopend", "afgerond")
TEMPLATE_YEARS = (1990, 2100)  # docs/templates.md: a four-digit year between 1990 and 2100


def plan_rules():
    """The columns the infrastructure templates share: what, which measure, when."""
    return [
        *filled_one_of("asset", INFRA_ASSETS),
        *filled_one_of("measure", INFRA_MEASURES),
        not_null("planned_year"),
        between("planned_year", *TEMPLATE_YEARS, name="planned_year_range"),
        between("planned_year", CurrentYear(-1), None, severity=WARN, name="planned_year_not_past",
                description="a plan for a year already past is done or outdated"),
    ]


def area_buurt(column: str = "buurt_code"):
    """The buurt code's form (ERROR) and that it is one of the area's buurten (WARN: left out downstream)."""
    return [
        matches(column, BU_CODE),
        references(column, "staging.stg_pdok__buurten", "buurt_code", severity=WARN,
                   name=f"{column}_in_area", description=f"{column} is a buurt of the area (PDOK buurten)"),
    ]


INFRA_SEGMENTS = suite(
    "infra_segments", "raw.infra_segments",
    required_columns({"segment_id": "string", "asset": "string", "measure": "string", "planned_year": "integer",
                      "length_m": "number", "geometry": "geometry", "source_feature": "integer"}),
    not_null("segment_id"),
    unique("segment_id"),
    plan_rules(),
    not_null("geometry"),
    between("length_m", 0, None, strict_min=True, name="length_m_positive"),
    between("length_m", None, 20_000, severity=WARN, name="length_m_plausible",
            description="one street segment is at most 20 km"),
    delivery_checks(400),
    # A plan has tens of segments: one bad feature is already several percent.
    quarantine=True, max_quarantine_share=0.25, key_columns=("segment_id",),
    description="Planned infrastructure works per street segment (municipal GeoJSON template).",
)

INFRA_BUURT = suite(
    "infra_buurt", "raw.infra_buurt",
    required_columns({"source_row": "integer", "buurt_code": "string", "asset": "string", "measure": "string",
                      "planned_year": "integer"}),
    not_null("buurt_code"),
    area_buurt(),
    plan_rules(),
    not_null("source_row"),
    delivery_checks(400),
    quarantine=True, max_quarantine_share=0.25, key_columns=("source_row",),
    description="Planned infrastructure works per buurt (municipal CSV/XLSX template).",
)

INITIATIVES = suite(
    "initiatives", "raw.initiatives",
    required_columns({"source_row": "integer", "buurt_code": "string", "wijk_code": "string", "party": "string",
                      "kind": "string", "start_year": "integer", "status": "string",
                      "households_involved": "integer"}),
    area_buurt(),
    matches("wijk_code", WK_CODE),
    not_null("party"),
    filled_one_of("kind", INITIATIVE_KINDS),
    filled_one_of("status", INITIATIVE_STATUSES),
    between("start_year", *TEMPLATE_YEARS, name="start_year_range"),
    between("start_year", None, CurrentYear(5), severity=WARN, name="start_year_plausible",
            description="a running initiative started, or starts within five years"),
    not_negative("households_involved"),
    not_null("source_row"),
    delivery_checks(400),
    quarantine=True, max_quarantine_share=0.25, key_columns=("source_row",),
    description="Running initiatives per buurt or wijk (municipal CSV/XLSX template).",
)

PARTICIPATION_COUNTS = ("contact_moments", "households_reached", "respondents", "willing_yes", "willing_maybe",
                        "willing_no", "willing_unknown", "concern_kosten", "concern_comfort", "concern_overlast",
                        "concern_onzekerheid", "concern_techniek", "concern_geen", "concern_overig",
                        "concern_unknown")

PARTICIPATION_BUURT = suite(
    "participation_buurt", "raw.participation_buurt",
    required_columns({"buurt_code": "string", **dict.fromkeys(PARTICIPATION_COUNTS, "integer"),
                      "first_contact_date": "date", "last_contact_date": "date", "small_cell": "boolean"}),
    not_null("buurt_code"),
    unique("buurt_code"),  # aggregated per buurt (sources/participation.py)
    area_buurt(),
    not_negative(*PARTICIPATION_COUNTS),
    not_before("last_contact_date", "first_contact_date"),
    between("first_contact_date", dt.datetime(2000, 1, 1), None, severity=WARN, name="first_contact_date_plausible",
            description="contact moments of this century (a typo such as 1024 shows here)"),
    not_null("small_cell"),  # the privacy flag must be decided for every buurt
    delivery_checks(400),
    # A gemeente has a few dozen buurten: one bad buurt row is already several percent.
    quarantine=True, max_quarantine_share=0.25, key_columns=("buurt_code",),
    description="Participation per buurt: counts only (personal data never enters the warehouse).",
)

# --- key models ----------------------------------------------------------------------------------------------

INT_VERBLIJFSOBJECTEN = suite(
    "int_verblijfsobjecten", "intermediate.int_verblijfsobjecten",
    required_columns({"vbo_id": "string", "pand_id": "string", "postcode": "string", "house_number": "integer",
                      "is_residential": "boolean", "is_in_use": "boolean", "floor_area_m2": "number",
                      "build_year": "integer", "buurt_code": "string", "buurt_source": "string",
                      "geometry": "geometry"}),
    filled_code("vbo_id", VBO_ID),
    unique("vbo_id", description="one row per verblijfsobject: each object gets exactly one buurt"),
    filled_code("pand_id", PAND_ID),
    # Every object of the model lies in one of the area's buurten, residential objects in use included.
    filled_code("buurt_code", BU_CODE),
    references("buurt_code", "staging.stg_pdok__buurten", "buurt_code"),
    not_null("buurt_source"),
    in_set("buurt_source", ["bag", "point_in_polygon"], severity=WARN),
    not_null("is_residential"),
    not_null("is_in_use"),
    matches("postcode", POSTCODE),
    between("house_number", 1, 99_999, name="house_number_range"),
    between("floor_area_m2", 0, 100_000, strict_min=True, strict_max=True, name="floor_area_m2_range"),
    build_year_rules("build_year"),
    not_null("build_year", severity=WARN, description="the object's pand is among the area's panden"),
    not_null("geometry", severity=WARN),
    row_count_near_previous(0.2, severity=WARN),
    description="Every BAG verblijfsobject of the area's buurten with its buurt and its pand's build year.",
)

PAND_DWELLING_TYPE_CLASSES = ("apartment_low_mid", "apartment_high", "terraced", "corner", "semi_detached",
                              "detached")
PAND_METHODS = ("units_per_pand", "touching_neighbours", "assumed_terraced_no_geometry")

INT_PANDEN_CLASSIFIED = suite(
    "int_panden_classified", "intermediate.int_panden_classified",
    required_columns({"pand_id": "string", "build_year": "integer", "footprint_area_m2": "number",
                      "n_objects": "integer", "n_dwellings": "integer", "n_neighbours": "integer",
                      "estimated_storeys": "number", "dwelling_type": "string", "dwelling_type_class": "string",
                      "dwelling_type_method": "string"}),
    filled_code("pand_id", PAND_ID),
    unique("pand_id"),
    build_year_rules("build_year"),
    between("n_objects", 1, None, name="n_objects_at_least_one",
            description="only panden holding an object in use are classified"),
    not_negative("n_dwellings"),
    not_before("n_objects", "n_dwellings", name="n_dwellings_within_n_objects"),
    not_negative("n_neighbours"),
    between("footprint_area_m2", 0, 1_000_000, strict_min=True, severity=WARN, name="footprint_area_m2_range"),
    between("estimated_storeys", 0, 60, strict_min=True, severity=WARN, name="estimated_storeys_plausible",
            description="no Dutch residential tower has more than about 60 floors (Zalmhaven, Rotterdam, 215 m)"),
    not_null("dwelling_type"),
    in_set("dwelling_type", DWELLING_TYPES, severity=WARN),
    in_set("dwelling_type_class", PAND_DWELLING_TYPE_CLASSES, severity=WARN),
    in_set("dwelling_type_method", PAND_METHODS, severity=WARN),
    row_count_near_previous(0.2, severity=WARN),
    description="Panden with objects in use, classified by dwelling type (units per pand, touching neighbours).",
)

HOUSING_STOCK_COUNTS = (
    "n_apartment", "n_terraced", "n_corner", "n_semi_detached", "n_detached", "n_built_before_1945",
    "n_built_1945_1974", "n_built_1975_1991", "n_built_1992_2005", "n_built_since_2006", "n_build_year_unknown",
    "n_label_a", "n_label_b", "n_label_c", "n_label_d", "n_label_e", "n_label_f", "n_label_g", "n_label_unknown",
    "n_label_registered", "n_label_estimated", "n_owner_occupied", "n_private_rent", "n_corporation",
    "n_owner_unknown", "n_owner_from_portfolio", "n_owner_estimated", "n_corporation_renovation_planned",
)
HOUSING_STOCK_PERCENTAGES = ("pct_label_efg", "pct_label_estimated", "pct_owner_estimated")


HOUSING_STOCK_BUURT = suite(
    "housing_stock_buurt", "marts.housing_stock_buurt",
    required_columns({"buurt_code": "string", "wijk_code": "string", "gemeente_code": "string",
                      "dwellings": "integer", **dict.fromkeys(HOUSING_STOCK_COUNTS, "integer"),
                      "avg_floor_area_m2": "number", "total_heat_demand_gj": "number",
                      **dict.fromkeys(HOUSING_STOCK_PERCENTAGES, "number")}),
    buurt_mart_keys(),
    matches("wijk_code", WK_CODE),
    matches("gemeente_code", GM_CODE),
    not_null("dwellings"),  # 0 where a buurt has none
    not_negative("dwellings", *HOUSING_STOCK_COUNTS),
    # A part never outnumbers the whole (null parts, in buurten without dwellings, are skipped).
    [not_before("dwellings", c, name=f"{c}_within_dwellings") for c in HOUSING_STOCK_COUNTS],
    percentages(HOUSING_STOCK_PERCENTAGES),
    between("avg_floor_area_m2", 0, 100_000, strict_min=True, name="avg_floor_area_m2_range"),
    not_negative("total_heat_demand_gj", "avg_heat_demand_gj"),
    between("avg_heat_demand_gj", None, 500, severity=WARN, name="avg_heat_demand_gj_plausible",
            description="at most 500 GJ a year per dwelling on average"),
    row_count_near_previous(0.2, severity=WARN),
    description="The housing stock per buurt from the address-level model.",
)

ENERGY_USE_PERCENTAGES = ("cbs_pct_district_heating", "pct_individual_gas_boiler", "pct_block_heating",
                          "pct_district_heating_high_gas", "pct_district_heating_low_gas",
                          "pct_district_heating_no_gas", "pct_hybrid_heat_pump", "pct_electric_low_gas",
                          "pct_electric_no_gas", "pct_heating_unknown", "pct_gas_free")
ENERGY_USE_NOT_NEGATIVE = ("cbs_avg_gas_m3", "cbs_avg_electricity_kwh", "kwb_avg_gas_m3", "kwb_avg_electricity_kwh",
                           "grid_gas_connections", "grid_gas_total_m3", "grid_gas_avg_m3_per_connection",
                           "grid_electricity_connections", "grid_electricity_total_kwh",
                           "grid_electricity_avg_kwh_per_connection", "n_dwellings", "n_dwellings_modelled",
                           "modelled_heat_demand_gj", "modelled_gas_m3", "measured_gas_m3_avg")
ENERGY_USE_YEARS = ("cbs_energy_year", "kwb_year", "grid_year", "heating_year")

ENERGY_USE_BUURT = suite(
    "energy_use_buurt", "marts.energy_use_buurt",
    required_columns({"buurt_code": "string", **dict.fromkeys(ENERGY_USE_YEARS, "integer"),
                      "cbs_avg_gas_m3": "number", "grid_gas_avg_m3_per_connection": "number",
                      "modelled_gas_m3_avg": "number", "measured_gas_m3_avg": "number",
                      "measured_gas_source": "string", "ratio_modelled_to_measured_gas": "number",
                      **dict.fromkeys(ENERGY_USE_PERCENTAGES, "number")}),
    buurt_mart_keys(),
    statistics_years(*ENERGY_USE_YEARS),
    percentages(ENERGY_USE_PERCENTAGES),
    not_negative(*ENERGY_USE_NOT_NEGATIVE),
    [between(c, 0, 1, name=f"{c}_share") for c in ("grid_gas_share_ranges_split",
                                                  "grid_electricity_share_ranges_split")],
    not_before("n_dwellings", "n_dwellings_modelled", name="n_dwellings_modelled_within_n_dwellings"),
    in_set("measured_gas_source", ["cbs_energie", "cbs_kwb"], severity=WARN),
    between("gas_lower_heating_value_mj_per_m3", 25, 45, name="gas_lower_heating_value_range",
            description="natural gas has 31.65 MJ/m3 (lower heating value); far off means a wrong unit"),
    [between(c, 0.5, 1.2, name=f"{c}_range") for c in ("boiler_efficiency_space_heating",
                                                       "boiler_efficiency_hot_water")],
    # No plausibility band on the ratios: a buurt on district heating burns far less gas than an all-boiler model
    # says (the mart's description), so a ratio of 4-6 there is the finding the mart exists to show.
    not_negative("ratio_modelled_to_measured_gas", "ratio_modelled_to_grid_gas"),
    row_count_near_previous(0.2, severity=WARN),
    description="Measured gas and electricity use per buurt next to the modelled heat demand as gas.",
)

SOCIO_ECONOMIC_PERCENTAGES = ("pct_low_income_households", "pct_households_below_110_social_minimum",
                              "pct_label_efg", "est_pct_households_energy_poor")
REGION_LEVELS = ("buurt", "wijk", "gemeente")

SOCIO_ECONOMIC_BUURT = suite(
    "socio_economic_buurt", "marts.socio_economic_buurt",
    required_columns({"buurt_code": "string", "wijk_code": "string", "gemeente_code": "string",
                      "inhabitants": "integer", "households": "integer", "avg_woz_eur": "number",
                      "income_per_inhabitant_eur": "number", "income_level": "string",
                      "dwellings_bag": "integer", "est_households_energy_poor": "number",
                      **dict.fromkeys(SOCIO_ECONOMIC_PERCENTAGES, "number")}),
    buurt_mart_keys(),
    matches("wijk_code", WK_CODE),
    matches("gemeente_code", GM_CODE),
    not_negative("inhabitants", "households", "avg_woz_eur", "income_per_inhabitant_eur", "dwellings_bag",
                 "est_households_energy_poor"),
    percentages(SOCIO_ECONOMIC_PERCENTAGES),
    not_before("households", "est_households_energy_poor", name="energy_poor_within_households"),
    in_set("income_level", REGION_LEVELS, severity=WARN),
    in_set("low_income_level", REGION_LEVELS, severity=WARN),
    # The buurt falls back to its wijk or gemeente figure, so an income is missing only when CBS has none at all.
    not_null("income_per_inhabitant_eur", severity=WARN),
    row_count_near_previous(0.2, severity=WARN),
    description="Socio-economic strength and the energy-poverty estimate per buurt.",
)

SUITES: dict[str, Suite] = {s.table: s for s in (
    CBS_KWB, PDOK_BUURTEN, STG_CBS_KWB, STG_PDOK_BUURTEN, FACTSCAN_BUURT,
    BAG_VERBLIJFSOBJECTEN, BAG_PANDEN, ENERGY_LABELS_SUITE, CORPORATION_PORTFOLIO, INT_DWELLINGS,
    CBS_ENERGIE_BUURT, CBS_HEATING_BUURT, KLEINVERBRUIK,
    INFRA_SEGMENTS, INFRA_BUURT, INITIATIVES, PARTICIPATION_BUURT,
    INT_VERBLIJFSOBJECTEN, INT_PANDEN_CLASSIFIED, HOUSING_STOCK_BUURT, ENERGY_USE_BUURT, SOCIO_ECONOMIC_BUURT,
)}
