-- Planned infrastructure works per buurt: street segments cut by the buurt boundaries, and the plans given per buurt.
with segments as (
    select * from staging.stg_municipal__infra_segments
),

buurten as (
    select buurt_code, geometry from staging.stg_pdok__buurten
),

plans_per_buurt as (
    select * from staging.stg_municipal__infra_buurt
),

pieces as (
    select
        segments.segment_id,
        buurten.buurt_code,
        st_length(st_intersection(segments.geometry, buurten.geometry)) as length_m
    from segments
    inner join buurten on st_intersects(segments.geometry, buurten.geometry)
),

inside as (
    -- touching a buurt in a point is not lying in it
    select
        segment_id,
        buurt_code,
        length_m,
        row_number() over (partition by segment_id order by length_m desc, buurt_code) = 1 as is_main_buurt
    from pieces
    where length_m > 0
),

segment_rows as (
    select
        'segment' as plan_source,
        segments.segment_id,
        inside.buurt_code,
        segments.asset,
        segments.measure,
        segments.planned_year,
        segments.owner,
        segments.description,
        inside.length_m,
        segments.length_m as segment_length_m,
        inside.length_m / nullif(segments.length_m, 0) as share_of_segment,
        inside.is_main_buurt,
        segments.source_feature as source_record
    from inside
    inner join segments on segments.segment_id = inside.segment_id
),

buurt_rows as (
    select
        'buurt_file' as plan_source,
        cast(null as varchar) as segment_id,
        buurt_code,
        asset,
        measure,
        planned_year,
        owner,
        description,
        cast(null as double) as length_m,
        cast(null as double) as segment_length_m,
        cast(null as double) as share_of_segment,
        true as is_main_buurt,
        source_row as source_record
    from plans_per_buurt
),

final as (
    select * from segment_rows
    union all
    select * from buurt_rows
)

select * from final
order by plan_source desc, segment_id, buurt_code
