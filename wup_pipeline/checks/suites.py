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
"""

from __future__ import annotations

import datetime as dt

from wup_pipeline.checks.expectations import (
    CurrentYear,
    DaysAgo,
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


def percentages(columns, *, severity: Severity = Severity.ERROR):
    return [between(c, 0, 100, severity=severity, name=f"{c}_percentage") for c in columns]


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
    [between(c, 0, None, name=f"{c}_not_negative") for c in CBS_COUNTS],
    between("gemiddelde_woz_waarde", 0, None, name="gemiddelde_woz_waarde_not_negative"),
    between("gemiddelde_woz_waarde", None, 5_000, severity=WARN, name="gemiddelde_woz_waarde_plausible",
            description="average WOZ (x 1,000 euro) at most 5 million euro"),
    percentages(CBS_PERCENTAGES),
    between("gemiddeld_aardgasverbruik", 0, None, name="gemiddeld_aardgasverbruik_not_negative"),
    between("period_year", 2000, CurrentYear(1), name="period_year_range"),
    matches("table_id", r"^[0-9]{5}NED$", severity=WARN),
    row_count_near_previous(0.2, severity=WARN),
    fresh_snapshot(30),
    # A gemeente has a few dozen regions: one bad buurt is already several percent of the table.
    quarantine=True, max_quarantine_share=0.25, key_columns=("wijken_en_buurten",),
    description="CBS Kerncijfers wijken en buurten, one row per region of the gemeente.",
)

PDOK_BUURTEN = suite(
    "pdok_buurten", "raw.pdok_buurten",
    required_columns({"buurtcode": "string", "buurtnaam": "string", "wijkcode": "string", "gemeentecode": "string",
                      "geometry_year": "integer", "geometry": "geometry"}),
    not_null("buurtcode"),
    matches("buurtcode", BU_CODE),
    unique("buurtcode"),
    matches("wijkcode", WK_CODE),
    matches("gemeentecode", GM_CODE),
    not_null("geometry"),
    not_null("buurtnaam", severity=WARN),
    in_set("water", ["JA", "NEE"], severity=WARN),
    between("geometry_year", 2000, CurrentYear(1), name="geometry_year_range"),
    row_count_near_previous(0.2, severity=WARN),
    fresh_snapshot(30),
    quarantine=True, max_quarantine_share=0.25, key_columns=("buurtcode",),
    description="PDOK CBS wijken en buurten: buurt boundaries of the gemeente.",
)

STG_CBS_KWB = suite(
    "stg_cbs__kwb", "staging.stg_cbs__kwb",
    required_columns({"region_code": "string", "region_type": "string", "kwb_year": "integer",
                      "inhabitants": "integer", "households": "integer", "dwellings": "integer",
                      "avg_woz_eur": "number", **dict.fromkeys(STAGING_PERCENTAGES, "number")}),
    not_null("region_code"),
    matches("region_code", REGION_CODE),
    unique("region_code"),
    in_set("region_type", ["gemeente", "wijk", "buurt"]),
    between("kwb_year", 2000, CurrentYear(1), name="kwb_year_range"),
    [between(c, 0, None, name=f"{c}_not_negative") for c in ("inhabitants", "households", "dwellings",
                                                                "avg_woz_eur", "income_per_inhabitant_eur")],
    percentages(STAGING_PERCENTAGES),
    row_count_near_previous(0.2, severity=WARN),
    description="Staged CBS KWB: trimmed codes, plain units.",
)

STG_PDOK_BUURTEN = suite(
    "stg_pdok__buurten", "staging.stg_pdok__buurten",
    required_columns({"buurt_code": "string", "wijk_code": "string", "gemeente_code": "string",
                      "geometry": "geometry", "area_ha": "number"}),
    not_null("buurt_code"),
    matches("buurt_code", BU_CODE),
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
    not_null("buurt_code"),
    matches("buurt_code", BU_CODE),
    unique("buurt_code"),
    references("buurt_code", "staging.stg_pdok__buurten", "buurt_code"),
    matches("wijk_code", WK_CODE),
    matches("gemeente_code", GM_CODE),
    percentages(MART_PERCENTAGES),
    [between(c, 0, None, name=f"{c}_not_negative") for c in ("dwellings", "inhabitants", "households",
                                                                "dwellings_per_ha")],
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
    not_null("vbo_id"),
    matches("vbo_id", VBO_ID),
    unique("vbo_id"),
    not_null("pand_id"),
    matches("pand_id", PAND_ID),
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
    row_count_near_previous(0.2),
    fresh_snapshot(45),
    quarantine=True, key_columns=("vbo_id",),
    description="BAG verblijfsobjecten (addressable objects) of the gemeente.",
)

BAG_PANDEN = suite(
    "bag_panden", "raw.bag_panden",
    required_columns({"pand_id": "string", "bouwjaar": "integer", "status": "string",
                      "footprint_area_m2": "number", "geometry_wkt": "string"}),
    not_null("pand_id"),
    matches("pand_id", PAND_ID),
    unique("pand_id"),
    build_year_rules("bouwjaar"),
    not_null("bouwjaar", severity=WARN),
    in_set("status", PAND_STATUSES, severity=WARN),
    between("footprint_area_m2", 0, 1_000_000, strict_min=True, severity=WARN, name="footprint_area_m2_range"),
    matches("geometry_wkt", r"^(MULTI)?POLYGON", severity=WARN, name="geometry_wkt_polygon"),
    row_count_near_previous(0.2),
    fresh_snapshot(45),
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
    not_null("energy_label"),
    in_set("energy_label", ENERGY_LABELS),
    not_null("registration_date", severity=WARN),
    between("registration_date", LABEL_FILE_START, DaysAgo(-1), name="registration_date_range",
            description="registered after 2006 and not in the future"),
    not_before("valid_until", "registration_date"),
    # Not configured means no rows (every label is then estimated): a WARN, not a block.
    row_count_near_previous(0.2, severity=WARN),
    fresh_snapshot(45),
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
    row_count_near_previous(0.2, severity=WARN),
    fresh_snapshot(400),
    quarantine=True, key_columns=("source_row",),
    description="Housing corporations' portfolio rows (template file), matched to BAG verblijfsobjecten.",
)

INT_DWELLINGS = suite(
    "int_dwellings", "intermediate.int_dwellings",
    required_columns({"vbo_id": "string", "pand_id": "string", "buurt_code": "string", "postcode": "string",
                      "house_number": "integer", "build_year": "integer", "floor_area_m2": "number",
                      "dwelling_type": "string", "energy_label": "string", "owner_type": "string",
                      "heat_demand_gj": "number"}),
    not_null("vbo_id"),
    matches("vbo_id", VBO_ID),
    unique("vbo_id"),
    not_null("pand_id"),
    matches("pand_id", PAND_ID),
    not_null("buurt_code"),
    matches("buurt_code", BU_CODE),
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
    between("heat_demand_gj", 0, None, name="heat_demand_gj_not_negative"),
    between("heat_demand_gj", None, 500, severity=WARN, name="heat_demand_gj_plausible",
            description="at most 500 GJ a year for one dwelling"),
    row_count_near_previous(0.2, severity=WARN),
    description="One row per dwelling (BAG verblijfsobject with woonfunctie) with label, owner type and heat demand.",
)

SUITES: dict[str, Suite] = {s.table: s for s in (
    CBS_KWB, PDOK_BUURTEN, STG_CBS_KWB, STG_PDOK_BUURTEN, FACTSCAN_BUURT,
    BAG_VERBLIJFSOBJECTEN, BAG_PANDEN, ENERGY_LABELS_SUITE, CORPORATION_PORTFOLIO, INT_DWELLINGS,
)}
