-- Key indicators per buurt per reference year, so a municipality sees whether a neighbourhood is moving off gas.
-- This run's year is computed from the current tables; earlier years come from audit.monitoring_buurt_history,
-- which Warehouse.publish() appends this mart's 'this_run' rows to (one row per year and buurt, latest publish wins).
with buurten as (
    select buurt_code, buurt_name, wijk_code, gemeente_code, geometry_year as reference_year
    from staging.stg_pdok__buurten
),

dwellings as (
    select
        buurt_code,
        count(*) as dwellings,
        count(*) filter (where label_class in ('A', 'B')) as n_label_ab,
        count(*) filter (where label_class in ('C', 'D')) as n_label_cd,
        count(*) filter (where label_class in ('E', 'F', 'G')) as n_label_eg,
        count(*) filter (where label_source = 'estimated') as n_label_estimated
    from intermediate.int_dwellings
    group by buurt_code
),

heating as (
    select
        region_code as buurt_code,
        heating_year,
        pct_gas_free,
        pct_district_heating_high_gas + pct_district_heating_low_gas + pct_district_heating_no_gas
            as pct_district_heating
    from staging.stg_cbs__heating_buurt
    where region_type = 'buurt'
),

energy as (
    select region_code as buurt_code, energy_year, avg_gas_m3, pct_district_heating
    from staging.stg_cbs__energie_buurt
    where region_type = 'buurt' and dwelling_type = 'total' and ownership = 'total'
),

kwb as (
    select region_code as buurt_code, kwb_year, avg_gas_m3, pct_district_heating
    from staging.stg_cbs__kwb
    where region_type = 'buurt'
),

participation as (
    select buurt_code, households, households_reached, reach_ratio, respondents, response_rate
    from marts.participation_buurt
),

this_run as (
    select
        buurten.reference_year,
        buurten.gemeente_code,
        buurten.wijk_code,
        buurten.buurt_code,
        buurten.buurt_name,
        coalesce(dwellings.dwellings, 0) as dwellings,
        heating.heating_year,
        heating.pct_gas_free as pct_dwellings_gas_free,
        dwellings.dwellings * heating.pct_gas_free / 100.0 as dwellings_gas_free_estimated,
        coalesce(energy.pct_district_heating, kwb.pct_district_heating, heating.pct_district_heating)
            as pct_heat_network,
        case
            when energy.pct_district_heating is not null then 'cbs_energie'
            when kwb.pct_district_heating is not null then 'cbs_kwb'
            when heating.pct_district_heating is not null then 'cbs_heating'
        end as heat_network_source,
        coalesce(dwellings.n_label_ab, 0) as n_label_ab,
        coalesce(dwellings.n_label_cd, 0) as n_label_cd,
        coalesce(dwellings.n_label_eg, 0) as n_label_eg,
        round(100.0 * dwellings.n_label_ab / nullif(dwellings.dwellings, 0), 1) as pct_label_ab,
        round(100.0 * dwellings.n_label_cd / nullif(dwellings.dwellings, 0), 1) as pct_label_cd,
        round(100.0 * dwellings.n_label_eg / nullif(dwellings.dwellings, 0), 1) as pct_label_eg,
        round(100.0 * dwellings.n_label_estimated / nullif(dwellings.dwellings, 0), 1) as pct_label_estimated,
        case when energy.avg_gas_m3 is not null then energy.energy_year else kwb.kwb_year end as gas_year,
        coalesce(energy.avg_gas_m3, kwb.avg_gas_m3) as avg_gas_m3,
        case
            when energy.avg_gas_m3 is not null then 'cbs_energie'
            when kwb.avg_gas_m3 is not null then 'cbs_kwb'
        end as gas_source,
        participation.households,
        participation.households_reached,
        participation.reach_ratio,
        participation.respondents,
        participation.response_rate,
        'this_run' as row_origin
    from buurten
    left join dwellings on dwellings.buurt_code = buurten.buurt_code
    left join heating on heating.buurt_code = buurten.buurt_code
    left join energy on energy.buurt_code = buurten.buurt_code
    left join kwb on kwb.buurt_code = buurten.buurt_code
    left join participation on participation.buurt_code = buurten.buurt_code
),

earlier as (
    -- years (or buurten) this run did not compute, as they were published before
    select
        history.reference_year,
        history.gemeente_code,
        history.wijk_code,
        history.buurt_code,
        history.buurt_name,
        history.dwellings,
        history.heating_year,
        history.pct_dwellings_gas_free,
        history.dwellings_gas_free_estimated,
        history.pct_heat_network,
        history.heat_network_source,
        history.n_label_ab,
        history.n_label_cd,
        history.n_label_eg,
        history.pct_label_ab,
        history.pct_label_cd,
        history.pct_label_eg,
        history.pct_label_estimated,
        history.gas_year,
        history.avg_gas_m3,
        history.gas_source,
        history.households,
        history.households_reached,
        history.reach_ratio,
        history.respondents,
        history.response_rate,
        'history' as row_origin
    from audit.monitoring_buurt_history as history
    anti join this_run
        on this_run.reference_year = history.reference_year and this_run.buurt_code = history.buurt_code
),

final as (
    select * from this_run
    union all
    select * from earlier
    order by buurt_code, reference_year
)

select * from final
