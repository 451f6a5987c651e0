"""Published national figures the SYNTHETIC demo municipality is calibrated to, and CBS's publication rules.

Every number in the first half of this module is a published figure with its source (publication, table,
year). Everything in the second half (``BUURTEN``, the factors) is a design choice for the fictional
municipality "Demodorp (synthetisch)": buurt-to-buurt variation around the national figures.

National figures
----------------
* Housing stock by ownership, 1 January 2023 (CBS StatLine 82900NED "Voorraad woningen; eigendom,
  type verhuurder, bewoning, regio"): 8,125,229 dwellings, 4,634,411 owner-occupied (57.0 %), 2,312,981
  owned by housing corporations (28.5 %), 1,166,607 other landlords (14.4 %), 11,230 unknown.
* Occupied dwellings, 1 January 2019 (82900NED): 7,469,356 of 7,814,912, i.e. 4.4 % unoccupied.
* Dwelling types, 1 January 2021 (CBS news release 3 August 2022, "42 procent van alle woningen is een
  rijtjeshuis"): 42 % terraced (rows of three or more, corner houses included), 36 % multi-family,
  13 % detached, 9 % semi-detached; 19 % of the stock was built before 1945.
* Average useful floor area, 1 January 2022 (CBS StatLine 82550NED "Voorraad woningen; gemiddeld
  oppervlak; woningtype, bouwjaarklasse, regio"): 120 m2.
* Average WOZ value of dwellings, 1 January 2024 (CBS news release 20 June 2024; StatLine 85036NED
  "Gemiddelde WOZ-waarde van woningen op 1 januari; eigendom, regio"): EUR 379,000.
* Households and persons, 1 January 2023 (CBS StatLine 85496NED "Bevolking; kerncijfers"): 17,811,291
  inhabitants, 8,270,244 private households (37975 / 70133ned); 276,024 persons in institutional
  households (CBS via RIVM VZinfo "Huishoudens", 2023). Average private household size
  (17,811,291 - 276,024) / 8,270,244 = 2.12.
* Personal income 2023 (CBS StatLine 85618NED "Kerncijfers wijken en buurten 2023", row Nederland):
  14,348,700 income recipients, EUR 39,700 per recipient; per inhabitant in private households that is
  39.7 x 14,348,700 / 17,535,267 = EUR 32,500 (derived).
* Households with a low income 2022 (CBS "Armoede en sociale uitsluiting 2023", chapter 2): 4.4 %.
* Average gas and electricity use per dwelling type, Nederland, 2024 (provisional; CBS StatLine 81528NED
  "Energieverbruik particuliere woningen; woningtype en regio's", read from ../shared/data/cbs_energie/
  81528NED_full_data.csv, Woningkenmerken codes as in that file): all dwellings 800 m3 / 2,550 kWh;
  apartment (ZW25810) 560 / 1,830; terraced (ZW25805) 770 / 2,530; corner (ZW25806) 900 / 2,730;
  semi-detached (ZW10300) 1,010 / 3,140; detached (ZW10320) 1,270 / 4,040; owner-occupied (1014800)
  910 / 3,010; rented (1014850) 640 / 1,920. (The 2019-2021 figures were higher, e.g. apartment 770-840
  and detached 1,910-2,150 m3; CBS revised 2022 onwards with smart-meter data.)
* New dwellings get no gas connection since 1 July 2018 (Wet voortgang energietransitie).

CBS publication rules the KWB payloads follow (see ``SUPPRESSION`` and ``wup_pipeline.demo.kwb``)
---------------------------------------------------------------------------------------------------
From CBS "Toelichting Kerncijfers wijken en buurten 2023" (../shared/data/cbs_kwb_utrecht/
CBS-Toelichting-variabelen-kwb-2023.pdf) and the 86159NED table description:
* inhabitants and households of wijken and buurten are rounded to multiples of 5 (CBS rounds at random;
  the demo rounds to the nearest multiple, half up); the gemeente row is not rounded;
* no average WOZ value below 20 dwellings; dwelling-type, ownership and build-year percentages only at
  20 dwellings or more;
* gas and electricity averages are rounded to tens and shown at 6 or more (occupied) dwellings per
  dwelling type or ownership class; the district-heating percentage at 10 or more dwellings;
* population density only at 10 or more inhabitants;
* average income per inhabitant only at 2,500 or more persons in private households (provisional
  figures); income percentages of households at 100 or more households.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Published national figures (sources in the module docstring) -------------------------------------

# 82900NED, 2023
NATIONAL_OWNER_SHARES = {"owner_occupied": 0.570, "corporation": 0.285, "private_rent": 0.144}
NATIONAL_UNOCCUPIED_SHARE = 0.044  # 82900NED 2019
NATIONAL_TYPE_SHARES = {"multi_family": 0.36, "terraced_incl_corner": 0.42, "semi_detached": 0.09,
                        "detached": 0.13}  # CBS news 2022-08-03, stock 2021
NATIONAL_PRE_1945_SHARE = 0.19  # same release
NATIONAL_FLOOR_AREA_M2 = 120  # 82550NED 2022
NATIONAL_AVG_WOZ_EUR = 379_000  # 85036NED / CBS news 2024-06-20
NATIONAL_HOUSEHOLD_SIZE = 2.12  # 85496NED 2023 (derived, see docstring)
NATIONAL_INCOME_PER_INHABITANT_EUR = 32_500  # 85618NED 2023 (derived, see docstring)
NATIONAL_LOW_INCOME_HOUSEHOLDS_PCT = 4.4  # CBS Armoede en sociale uitsluiting 2023, year 2022

# 81528NED, Nederland, 2024 (provisional): average gas (m3) and electricity delivery (kWh) per dwelling.
NATIONAL_GAS_M3 = {"apartment": 560, "terraced": 770, "corner": 900, "semi_detached": 1010, "detached": 1270}
NATIONAL_ELECTRICITY_KWH = {"apartment": 1830, "terraced": 2530, "corner": 2730, "semi_detached": 3140,
                            "detached": 4040}
NATIONAL_GAS_ALL_M3 = 800
NATIONAL_ELECTRICITY_ALL_KWH = 2550
NO_GAS_CONNECTION_FROM_YEAR = 2018  # Wet voortgang energietransitie, in force 1 July 2018


@dataclass(frozen=True)
class Suppression:
    """CBS KWB 2023 publication thresholds (module docstring); a figure below its threshold is null."""

    min_dwellings_housing: int = 20  # WOZ, type/ownership/build-year/unoccupied percentages
    min_dwellings_energy: int = 6  # per average (total, per dwelling type, per ownership class)
    min_dwellings_district_heating: int = 10
    min_inhabitants_density: int = 10
    min_persons_income: int = 2_500  # average income per inhabitant
    min_households_income_shares: int = 100  # share of households with a low income
    round_counts_to: int = 5  # inhabitants and households of wijken and buurten
    round_energy_to: int = 10


SUPPRESSION = Suppression()

# --- Design of the fictional municipality (not calibration data) --------------------------------------

DWELLING_TYPES = ("apartment", "terraced", "corner", "semi_detached", "detached")
OWNER_TYPES = ("owner_occupied", "corporation", "private_rent")
HEATING_TYPES = ("gas_boiler", "district_heating", "heat_pump")

# Mean floor area per type, chosen so the national type mix gives about the national 120 m2:
# 0.36 x 80 + 0.42 x ~121 + 0.09 x 150 + 0.13 x 185 = 118 m2.
FLOOR_AREA_M2 = {"apartment": 80, "terraced": 118, "corner": 128, "semi_detached": 150, "detached": 185}

# How much more (or less) likely an ownership class is for a dwelling type than the buurt mix says.
OWNER_AFFINITY = {
    "apartment": (0.85, 1.15, 1.3),
    "terraced": (1.0, 1.0, 0.8),
    "corner": (1.05, 1.0, 0.8),
    "semi_detached": (1.5, 0.4, 0.6),
    "detached": (1.8, 0.1, 0.5),
}

# Gas use relative to the national average of the type, by build-year class (upper bound, factor).
GAS_AGE_FACTORS = ((1944, 1.30), (1964, 1.20), (1974, 1.10), (1991, 0.95), (2005, 0.80), (9999, 0.65))
HEAT_PUMP_EXTRA_KWH = 2_000  # demo assumption (not calibrated): electricity for an all-electric dwelling

# WOZ value per m2, relative, before the municipality is scaled to the national average WOZ value.
WOZ_TYPE_FACTORS = {"apartment": 1.0, "terraced": 0.95, "corner": 1.0, "semi_detached": 1.1, "detached": 1.25}
WOZ_AGE_FACTORS = ((1905, 1.10), (1944, 1.00), (1974, 0.88), (1999, 0.95), (9999, 1.08))
WOZ_OWNER_FACTORS = {"owner_occupied": 1.05, "corporation": 0.80, "private_rent": 0.95}


@dataclass(frozen=True)
class BuurtSpec:
    """One buurt of the demo municipality: its character, and the grid cells it covers."""

    code: str  # wijk (2 digits) + buurt (2 digits)
    name: str
    kind: str
    n_dwellings: int
    build_years: tuple[tuple[int, int, float], ...]  # (first year, last year, weight)
    types: tuple[float, ...]  # shares in DWELLING_TYPES order
    owners: tuple[float, ...]  # shares in OWNER_TYPES order, before OWNER_AFFINITY
    household_size: float  # mean size of the households in occupied dwellings
    unoccupied: float
    income_factor: float  # income per inhabitant relative to the national figure
    woz_factor: float
    district_heating: float  # share of dwellings (built before 2018) on district heating
    cells: tuple[tuple[int, int], ...]  # (column, row) of the layout grid


WIJKEN = {"01": "Centrum", "02": "Noord", "03": "Zuid"}

BUURTEN: tuple[BuurtSpec, ...] = (
    BuurtSpec("0101", "Binnenstad", "pre-war inner town", 1600,
              ((1620, 1899, 0.25), (1900, 1944, 0.50), (1945, 1999, 0.15), (2000, 2022, 0.10)),
              (0.60, 0.24, 0.10, 0.03, 0.03), (0.52, 0.20, 0.28), 1.80, 0.06, 1.00, 1.25, 0.0,
              ((1, 2),)),
    BuurtSpec("0102", "Havenkwartier", "pre-war workers' quarter", 600,
              ((1900, 1944, 0.75), (1945, 1999, 0.15), (2000, 2022, 0.10)),
              (0.35, 0.45, 0.15, 0.03, 0.02), (0.55, 0.30, 0.15), 1.90, 0.05, 0.85, 1.05, 0.0,
              ((2, 2),)),
    BuurtSpec("0103", "Oosterpark", "post-war apartment estate", 850,
              ((1950, 1965, 0.85), (1966, 1999, 0.10), (2000, 2022, 0.05)),
              (0.75, 0.18, 0.07, 0.0, 0.0), (0.30, 0.58, 0.12), 1.90, 0.04, 0.75, 0.85, 0.0,
              ((0, 2),)),
    BuurtSpec("0104", "Bedrijventerrein De Kolk", "business park", 7,
              ((1960, 2010, 1.0),),
              (0.40, 0.0, 0.0, 0.0, 0.60), (0.70, 0.0, 0.30), 2.00, 0.0, 1.00, 0.90, 0.0,
              ((3, 2), (4, 2))),
    BuurtSpec("0201", "Zuiderhout", "post-war high-rise estate", 800,
              ((1962, 1975, 0.90), (2000, 2022, 0.10)),
              (0.90, 0.07, 0.03, 0.0, 0.0), (0.25, 0.63, 0.12), 1.80, 0.04, 0.72, 0.80, 0.55,
              ((0, 3),)),
    BuurtSpec("0202", "Bloemenbuurt", "1970s-80s terraced suburb", 1200,
              ((1968, 1985, 0.90), (1986, 1999, 0.10)),
              (0.08, 0.62, 0.22, 0.06, 0.02), (0.68, 0.25, 0.07), 2.35, 0.04, 0.95, 0.95, 0.0,
              ((1, 3), (2, 3))),
    BuurtSpec("0203", "Vogelbuurt", "1975-90 terraced and semi-detached", 600,
              ((1975, 1990, 1.0),),
              (0.05, 0.45, 0.20, 0.22, 0.08), (0.80, 0.14, 0.06), 2.40, 0.03, 1.05, 1.00, 0.0,
              ((3, 3),)),
    BuurtSpec("0204", "Villapark Beukenrode", "villa area", 220,
              ((1920, 1940, 0.35), (1950, 1980, 0.45), (2000, 2022, 0.20)),
              (0.0, 0.0, 0.0, 0.30, 0.70), (0.92, 0.0, 0.08), 2.50, 0.03, 1.70, 1.35, 0.0,
              ((4, 3),)),
    BuurtSpec("0301", "Waterrijk", "1990s-2000s VINEX area", 1100,
              ((1996, 2008, 1.0),),
              (0.25, 0.40, 0.15, 0.13, 0.07), (0.68, 0.20, 0.12), 2.50, 0.03, 1.15, 1.05, 0.70,
              ((0, 1), (1, 1))),
    BuurtSpec("0302", "De Velden", "new-build area", 400,
              ((2012, 2023, 1.0),),
              (0.30, 0.35, 0.15, 0.12, 0.08), (0.62, 0.20, 0.18), 2.50, 0.02, 1.15, 1.15, 0.0,
              ((3, 1),)),
    BuurtSpec("0303", "Buitengebied", "rural area", 36,
              ((1850, 1944, 0.40), (1945, 1999, 0.45), (2000, 2022, 0.15)),
              (0.0, 0.0, 0.0, 0.25, 0.75), (0.85, 0.0, 0.15), 2.30, 0.03, 1.10, 1.10, 0.0,
              ((4, 1), (0, 0), (1, 0), (2, 0), (3, 0), (4, 0))),
    BuurtSpec("0304", "Oude Dorp", "old village core", 300,
              ((1850, 1944, 0.45), (1945, 1975, 0.35), (1976, 2022, 0.20)),
              (0.20, 0.35, 0.15, 0.15, 0.15), (0.60, 0.25, 0.15), 2.10, 0.05, 1.00, 1.00, 0.0,
              ((2, 1),)),
)

# Layout grid in RD New (EPSG:28992) metres: column edges west to east, row edges south to north.
GRID_X0, GRID_WIDTHS = 153_000.0, (520.0, 460.0, 440.0, 470.0, 540.0)
GRID_Y0, GRID_HEIGHTS = 452_000.0, (2_600.0, 430.0, 450.0, 440.0)
GRID_JITTER_M = 60.0  # interior vertices and edge midpoints move at most this far
# A detached polder piece of the rural buurt east of the town (makes it a two-part MultiPolygon).
EXCLAVE = {"buurt": "0303", "x": 156_300.0, "y": 452_400.0, "width": 700.0, "height": 900.0}
