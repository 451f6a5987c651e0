-- Koppelkansen: per buurt and asset, the planned works and whether they fall in the plan window.
with plans as (
    select * from intermediate.int_infra_buurt
    where buurt_code is not null
),

buurten as (
    select buurt_code, buurt_name from staging.stg_pdok__buurten
),

plan_window as (
    -- wup_pipeline/parameters/energy_conversion.csv: first year and length of the plan window, in one map column
    -- so the column lineage reaches the parameter table by a single path
    select map(list(name), list(value)) as by_name
    from raw.param_energy_conversion
),

flagged as (
    select
        plans.*,
        cast(plan_window.by_name['plan_window_start_year'] as bigint) as plan_window_start_year,
        cast(plan_window.by_name['plan_window_start_year'] + plan_window.by_name['plan_window_years'] - 1 as bigint)
            as plan_window_end_year,
        case
            when plans.planned_year between plan_window.by_name['plan_window_start_year']
                and plan_window.by_name['plan_window_start_year'] + plan_window.by_name['plan_window_years'] - 1
                then plans.planned_year
        end as planned_year_in_window
    from plans
    cross join plan_window
),

per_asset as (
    select
        buurt_code,
        asset,
        min(planned_year) as earliest_planned_year,
        max(planned_year) as latest_planned_year,
        min(planned_year_in_window) as earliest_year_in_window,
        count(*) as n_plans,
        count(distinct segment_id) as n_segments,
        string_agg(distinct measure, ', ' order by measure) as measures,
        string_agg(distinct owner, ', ' order by owner) as owners,
        -- exact decimal sums: a parallel sum of doubles depends on row order (see intermediate.int_grid_use_buurt)
        sum(length_m::decimal(38, 9))::double as total_length_m,
        sum(case when planned_year_in_window is not null then length_m::decimal(38, 9) end)::double
            as length_in_window_m,
        count(planned_year_in_window) > 0 as in_plan_window,
        min(plan_window_start_year) as plan_window_start_year,
        min(plan_window_end_year) as plan_window_end_year
    from flagged
    group by buurt_code, asset
),

final as (
    select
        per_asset.buurt_code,
        buurten.buurt_name,
        per_asset.asset,
        per_asset.earliest_planned_year,
        per_asset.latest_planned_year,
        per_asset.earliest_year_in_window,
        per_asset.n_plans,
        per_asset.n_segments,
        per_asset.measures,
        per_asset.owners,
        per_asset.total_length_m,
        per_asset.length_in_window_m,
        per_asset.in_plan_window,
        per_asset.plan_window_start_year,
        per_asset.plan_window_end_year,
        count(case when per_asset.in_plan_window then 1 end) over (partition by per_asset.buurt_code)
            as n_assets_in_window
    from per_asset
    left join buurten on buurten.buurt_code = per_asset.buurt_code
    order by per_asset.buurt_code, per_asset.asset
)

select * from final
