-- BAG verblijfsobjecten: one row per object, typed, with its point geometry and residential flag.
with source as (
    -- gemeente partitions fetched by bounding box overlap at their borders: each object once
    select * from raw.bag_verblijfsobjecten
    qualify row_number() over (partition by vbo_id order by partition_gemeente) = 1
),

renamed as (
    select
        vbo_id,
        pand_id,
        nummeraanduiding_id,
        openbare_ruimte_naam as street,
        upper(replace(postcode, ' ', '')) as postcode,
        huisnummer as house_number,
        nullif(trim(huisletter), '') as house_letter,
        nullif(trim(toevoeging), '') as house_number_addition,
        gebruiksdoel as usage_purposes,
        gebruiksdoel like '%woonfunctie%' as is_residential,
        oppervlakte_m2 as floor_area_m2,
        status,
        -- BAG statuses of objects that exist: in use, in use but not measured, being rebuilt.
        status in ('Verblijfsobject in gebruik', 'Verblijfsobject in gebruik (niet ingemeten)',
                   'Verbouwing verblijfsobject') as is_in_use,
        x_rd,
        y_rd,
        st_point(x_rd, y_rd) as geometry,
        buurt_code as buurt_code_bag
    from source
)

select * from renamed
