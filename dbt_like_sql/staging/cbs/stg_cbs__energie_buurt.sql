-- CBS energy use of dwellings per region and dwelling characteristic (Woningkenmerken), in plain units.
with source as (
    select * from raw.cbs_energie_buurt
),

renamed as (
    select
        region_code,
        lower(region_kind) as region_type,
        year as energy_year,
        table_id as cbs_table_id,
        woningkenmerk_code,
        dwelling_type,
        ownership,
        avg_gas_m3,
        avg_electricity_kwh,
        avg_net_electricity_kwh,
        pct_district_heating
    from source
)

select * from renamed
