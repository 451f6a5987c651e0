-- Planned infrastructure works known per buurt (not per street).
with source as (
    select * from raw.infra_buurt
),

renamed as (
    select
        buurt_code,
        asset,
        measure,
        planned_year,
        owner,
        description,
        source_row
    from source
)

select * from renamed
