-- Running initiatives of residents and other parties, per buurt or for a whole wijk.
with source as (
    select * from raw.initiatives
),

renamed as (
    select
        buurt_code,
        wijk_code,
        party,
        kind,
        title,
        start_year,
        status,
        households_involved,
        source_row
    from source
)

select * from renamed
