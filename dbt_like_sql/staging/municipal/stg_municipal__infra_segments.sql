-- Planned infrastructure works per street segment, geometry in RD New (EPSG:28992).
with source as (
    select * from raw.infra_segments
),

renamed as (
    select
        segment_id,
        asset,
        measure,
        planned_year,
        owner,
        description,
        length_m,
        geometry,
        source_feature
    from source
)

select * from renamed
