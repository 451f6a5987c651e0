-- CBS main heating installations of dwellings per region: % of the dwelling stock per installation kind.
with source as (
    select * from raw.cbs_heating_buurt
),

renamed as (
    select
        region_code,
        lower(region_kind) as region_type,
        year as heating_year,
        table_id as cbs_table_id,
        pct_individual_gas_boiler,
        pct_block_heating,
        pct_district_heating_high_gas,
        pct_district_heating_low_gas,
        pct_district_heating_no_gas,
        pct_hybrid_heat_pump,
        pct_electric_low_gas,
        pct_electric_no_gas,
        pct_unknown,
        pct_gas_free
    from source
)

select * from renamed
