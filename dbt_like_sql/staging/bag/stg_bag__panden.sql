-- BAG panden: build year and footprint polygon.
with source as (
    -- gemeente partitions fetched by bounding box overlap at their borders: each object once
    select * from raw.bag_panden
    qualify row_number() over (partition by pand_id order by partition_gemeente) = 1
),

renamed as (
    select
        pand_id,
        bouwjaar as build_year,
        status,
        case when geometry_wkt is not null then st_geomfromtext(geometry_wkt) end as geometry,
        coalesce(footprint_area_m2, st_area(st_geomfromtext(geometry_wkt))) as footprint_area_m2
    from source
)

select * from renamed
