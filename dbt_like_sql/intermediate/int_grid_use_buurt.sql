-- Grid operators' postcode ranges mapped onto buurten through the addresses: a range's connections and use go to
-- the buurten of the addresses whose postcode lies in the range, pro rata to their address counts.
with ranges as (
    select
        concat_ws('|', operator, kleinverbruik_year, source_file, source_record) as range_id,
        operator,
        kleinverbruik_year,
        product,
        use_unit,
        postcode_from,
        postcode_to,
        connections,
        avg_annual_use,
        smart_meter_pct
    from staging.stg_grid__kleinverbruik
),

postcodes as (
    -- every address counts: small-consumer connections serve dwellings and small businesses alike
    select
        upper(replace(postcode, ' ', '')) as postcode,
        buurt_code,
        count(*) as n_addresses
    from intermediate.int_verblijfsobjecten
    where postcode is not null and buurt_code is not null
    group by upper(replace(postcode, ' ', '')), buurt_code
),

matched as (
    -- range join: six-position postcodes (four digits, two letters) sort correctly as text
    select
        ranges.range_id,
        postcodes.buurt_code,
        sum(postcodes.n_addresses) as n_addresses
    from ranges
    inner join postcodes on postcodes.postcode between ranges.postcode_from and ranges.postcode_to
    group by ranges.range_id, postcodes.buurt_code
),

per_range as (
    select
        range_id,
        sum(n_addresses) as range_addresses,
        count(*) as n_buurten
    from matched
    group by range_id
),

assigned as (
    select
        ranges.kleinverbruik_year,
        matched.buurt_code,
        ranges.product,
        ranges.use_unit,
        ranges.operator,
        matched.n_addresses,
        ranges.connections * matched.n_addresses / per_range.range_addresses as connections,
        ranges.avg_annual_use,
        ranges.smart_meter_pct,
        per_range.n_buurten > 1 as is_split
    from matched
    inner join per_range on per_range.range_id = matched.range_id
    inner join ranges on ranges.range_id = matched.range_id
),

final as (
    -- floating-point sums depend on the order rows arrive in, which a parallel join does not fix: summing exact
    -- decimals (rounded per row to 1e-9) makes every run give the same figures bit for bit
    select
        kleinverbruik_year,
        buurt_code,
        product,
        use_unit,
        string_agg(distinct operator, ', ' order by operator) as operators,
        sum(connections::decimal(38, 9))::double as connections,
        sum((connections * avg_annual_use)::decimal(38, 9))::double as total_annual_use,
        sum((connections * avg_annual_use)::decimal(38, 9))::double
            / nullif(sum(case when avg_annual_use is not null then connections::decimal(38, 9) end), 0)::double
            as avg_annual_use_per_connection,
        sum((connections * smart_meter_pct)::decimal(38, 9))::double
            / nullif(sum(case when smart_meter_pct is not null then connections::decimal(38, 9) end), 0)::double
            as smart_meter_pct,
        cast(sum(n_addresses) as bigint) as n_addresses,
        count(*) as n_ranges,
        count(case when is_split then 1 end) as n_ranges_split,
        count(case when is_split then 1 end) / count(*) as share_ranges_split
    from assigned
    group by kleinverbruik_year, buurt_code, product, use_unit
)

select * from final
order by kleinverbruik_year, buurt_code, product
