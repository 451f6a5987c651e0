-- Panden with objects in use, classified by dwelling type from unit count and touching neighbours.
-- Method (as PBL Vesta derives pand types; docs/housing-model.md): a pand with two or more objects holds
-- apartments; a single-object pand is detached without touching neighbours, semi-detached with one
-- neighbour that has one neighbour itself, a corner house with one neighbour in a longer row, terraced
-- with two or more. Panden within 0.4 m count as touching (Vesta buffers each pand by 0.2 m); the pairs
-- come from intermediate.int_pand_neighbours.
with panden as (
    select * from staging.stg_bag__panden
),

objects as (
    select * from intermediate.int_verblijfsobjecten
    where is_in_use
),

units as (
    select
        pand_id,
        count(*) as n_objects,
        count(*) filter (where is_residential) as n_dwellings,
        sum(floor_area_m2) as total_floor_area_m2
    from objects
    group by pand_id
),

occupied as (
    select
        panden.pand_id,
        panden.build_year,
        panden.geometry,
        panden.footprint_area_m2,
        units.n_objects,
        units.n_dwellings,
        units.total_floor_area_m2
    from panden
    join units on units.pand_id = panden.pand_id
),

edges as (
    -- Only neighbours that hold an object in use count, as in Vesta.
    select pairs.pand_id, pairs.neighbour_id
    from intermediate.int_pand_neighbours as pairs
    join occupied on occupied.pand_id = pairs.neighbour_id
),

neighbour_counts as (
    select pand_id, count(*) as n_neighbours
    from edges
    group by pand_id
),

row_lengths as (
    -- For a pand with one neighbour: does that neighbour have more than one (a row) or not (a pair)?
    select edges.pand_id, max(coalesce(neighbour_counts.n_neighbours, 0)) as max_neighbour_neighbours
    from edges
    left join neighbour_counts on neighbour_counts.pand_id = edges.neighbour_id
    group by edges.pand_id
),

classified as (
    select
        occupied.*,
        coalesce(neighbour_counts.n_neighbours, 0) as n_neighbours,
        occupied.total_floor_area_m2 / nullif(occupied.footprint_area_m2, 0) as estimated_storeys,
        case
            when occupied.n_objects >= 2 then 'apartment'
            when occupied.geometry is null then 'terraced'
            when coalesce(neighbour_counts.n_neighbours, 0) = 0 then 'detached'
            when neighbour_counts.n_neighbours = 1 and row_lengths.max_neighbour_neighbours = 1 then 'semi_detached'
            when neighbour_counts.n_neighbours = 1 then 'corner'
            else 'terraced'
        end as dwelling_type,
        case
            when occupied.n_objects >= 2 then 'units_per_pand'
            when occupied.geometry is null then 'assumed_terraced_no_geometry'
            else 'touching_neighbours'
        end as dwelling_type_method
    from occupied
    left join neighbour_counts on neighbour_counts.pand_id = occupied.pand_id
    left join row_lengths on row_lengths.pand_id = occupied.pand_id
),

final as (
    select
        pand_id,
        build_year,
        footprint_area_m2,
        n_objects,
        n_dwellings,
        total_floor_area_m2,
        n_neighbours,
        estimated_storeys,
        dwelling_type,
        case
            when dwelling_type <> 'apartment' then dwelling_type
            -- Vesta: high-rise above 4 storeys; storeys from floor area over footprint, else 30+ units.
            when estimated_storeys > 4 or (estimated_storeys is null and n_dwellings >= 30) then 'apartment_high'
            else 'apartment_low_mid'
        end as dwelling_type_class,
        dwelling_type_method
    from classified
)

select * from final
