-- CBS Kerncijfers wijken en buurten, one row per region (gemeente, wijk, buurt), typed and in plain units.
with source as (
    select * from raw.cbs_kwb
),

renamed as (
    select
        trim(wijken_en_buurten) as region_code,
        lower(trim(soort_regio)) as region_type,
        trim(gemeentenaam) as gemeente_name,
        period_year as kwb_year,
        table_id as cbs_table_id,
        cast(aantal_inwoners as bigint) as inhabitants,
        cast(huishoudens_totaal as bigint) as households,
        gemiddelde_huishoudensgrootte as avg_household_size,
        cast(woningvoorraad as bigint) as dwellings,
        round(gemiddelde_woz_waarde * 1000) as avg_woz_eur,
        percentage_eengezinswoning as pct_single_family,
        percentage_meergezinswoning as pct_multi_family,
        koopwoningen as pct_owner_occupied,
        huurwoningen_totaal as pct_rented,
        in_bezit_woningcorporatie as pct_corporation,
        in_bezit_overige_verhuurders as pct_private_rent,
        bouwjaar_voor_2000 as pct_built_before_2000,
        bouwjaar_vanaf_2000 as pct_built_since_2000,
        bouwjaar_afgelopen_tien_jaar as pct_built_last_10_years,
        gemiddeld_aardgasverbruik as avg_gas_m3,
        aardgas_appartement as avg_gas_apartment_m3,
        aardgas_tussenwoning as avg_gas_terraced_m3,
        aardgas_hoekwoning as avg_gas_corner_m3,
        aardgas_twee_onder_een_kap as avg_gas_semi_detached_m3,
        aardgas_vrijstaand as avg_gas_detached_m3,
        gemiddeld_elektriciteitsverbruik as avg_electricity_kwh,
        percentage_woningen_met_stadsverwarming as pct_district_heating,
        round(gemiddeld_inkomen_per_inwoner * 1000) as income_per_inhabitant_eur,
        round(gem_gestandaardiseerd_inkomen_huishouden * 1000) as avg_standardised_household_income_eur,
        huishoudens_met_laag_inkomen as pct_low_income_households,
        huishoudens_tot_110_van_sociaal_minimum as pct_households_below_110_social_minimum,
        oppervlakte_totaal as area_total_ha_cbs
    from source
)

select * from renamed
