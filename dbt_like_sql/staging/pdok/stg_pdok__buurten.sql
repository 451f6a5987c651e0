-- PDOK CBS wijken en buurten: one row per buurt with its boundary in RD New (EPSG:28992).
with source as (
    select * from raw.pdok_buurten
),

renamed as (
    select
        buurtcode as buurt_code,
        buurtnaam as buurt_name,
        wijkcode as wijk_code,
        gemeentecode as gemeente_code,
        gemeentenaam as gemeente_name,
        geometry_year,
        geometry,
        st_area(geometry) / 10000.0 as area_ha
    from source
)

select * from renamed
