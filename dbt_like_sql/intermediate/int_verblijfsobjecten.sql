-- Every BAG verblijfsobject of the area with its buurt and the build year of its pand.
with objects as (
    select * from staging.stg_bag__verblijfsobjecten
),

panden as (
    select * from staging.stg_bag__panden
),

buurten as (
    select buurt_code, geometry from staging.stg_pdok__buurten
),

in_polygon as (
    -- A point on a shared boundary lies in two polygons: take one, deterministically.
    select objects.vbo_id, min(buurten.buurt_code) as buurt_code
    from objects
    join buurten on st_contains(buurten.geometry, objects.geometry)
    group by objects.vbo_id
),

located as (
    select
        objects.*,
        coalesce(objects.buurt_code_bag, in_polygon.buurt_code) as buurt_code,
        case
            when objects.buurt_code_bag is not null then 'bag'
            when in_polygon.buurt_code is not null then 'point_in_polygon'
        end as buurt_source
    from objects
    left join in_polygon on in_polygon.vbo_id = objects.vbo_id
),

final as (
    select
        located.vbo_id,
        located.pand_id,
        located.postcode,
        located.house_number,
        located.house_letter,
        located.house_number_addition,
        located.street,
        located.is_residential,
        located.is_in_use,
        located.floor_area_m2,
        panden.build_year,
        located.buurt_code,
        located.buurt_source,
        located.geometry
    from located
    left join panden on panden.pand_id = located.pand_id
    -- The area is the set of buurten; objects of a bbox outside it are not ours.
    where located.buurt_code in (select buurt_code from buurten)
)

select * from final
