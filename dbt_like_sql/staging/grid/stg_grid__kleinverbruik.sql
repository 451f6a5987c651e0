-- Grid operators' small-consumer data: connections and standard annual use per postcode range and product.
with source as (
    select * from raw.kleinverbruik
),

renamed as (
    select
        operator,
        year as kleinverbruik_year,
        postcode_from,
        postcode_to,
        street,
        city,
        product,
        connections,
        avg_annual_use,
        case product when 'gas' then 'm3' when 'electricity' then 'kWh' end as use_unit,
        smart_meter_pct,
        delivery_direction_pct,
        low_tariff_pct,
        connection_type,
        source_file,
        source_record
    from source
)

select * from renamed
