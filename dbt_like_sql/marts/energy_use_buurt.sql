-- Measured gas and electricity use per buurt (CBS, grid operators) against the modelled heat demand as gas.
with buurten as (
    select buurt_code, buurt_name from staging.stg_pdok__buurten
),

parameters as (
    -- one value per name (wup_pipeline/parameters/energy_conversion.csv); one map column, so every figure's
    -- column lineage reaches the parameter table by a single path
    select map(list(name), list(value)) as by_name
    from raw.param_energy_conversion
),

cbs_energy as (
    select
        region_code as buurt_code,
        energy_year,
        avg_gas_m3,
        avg_electricity_kwh,
        pct_district_heating
    from staging.stg_cbs__energie_buurt
    where region_type = 'buurt' and dwelling_type = 'total' and ownership = 'total'
),

kwb as (
    select
        region_code as buurt_code,
        kwb_year,
        avg_gas_m3,
        avg_electricity_kwh
    from staging.stg_cbs__kwb
    where region_type = 'buurt'
),

heating as (
    select * from staging.stg_cbs__heating_buurt
    where region_type = 'buurt'
),

grid_gas as (
    select * from intermediate.int_grid_use_buurt
    where product = 'gas'
        and kleinverbruik_year = (select max(kleinverbruik_year) from intermediate.int_grid_use_buurt)
),

grid_electricity as (
    select * from intermediate.int_grid_use_buurt
    where product = 'electricity'
        and kleinverbruik_year = (select max(kleinverbruik_year) from intermediate.int_grid_use_buurt)
),

dwelling_gas as (
    -- Vesta 3.0 functional design, formula 81: gas = demand x (1 + pipe loss) / HR boiler efficiency, per use;
    -- GJ of gas (lower heating value) / (MJ per m3 / 1000) = m3
    select
        dwellings.buurt_code,
        dwellings.heat_demand_gj,
        (
            dwellings.heat_demand_space_gj * (1 + parameters.by_name['distribution_loss_space_heating'])
                / parameters.by_name['boiler_efficiency_space_heating']
            + dwellings.heat_demand_hot_water_gj * (1 + parameters.by_name['distribution_loss_hot_water'])
                / parameters.by_name['boiler_efficiency_hot_water']
        ) / (parameters.by_name['gas_lower_heating_value'] / 1000) as gas_m3
    from intermediate.int_dwellings as dwellings
    cross join parameters
),

modelled as (
    -- exact decimal sums: a parallel sum of doubles depends on row order (see intermediate.int_grid_use_buurt)
    select
        buurt_code,
        count(*) as n_dwellings,
        count(gas_m3) as n_dwellings_modelled,
        sum(heat_demand_gj::decimal(38, 9))::double as modelled_heat_demand_gj,
        avg(heat_demand_gj::decimal(38, 9)) as modelled_heat_demand_gj_avg,
        sum(gas_m3::decimal(38, 9))::double as modelled_gas_m3,
        avg(gas_m3::decimal(38, 9)) as modelled_gas_m3_avg
    from dwelling_gas
    group by buurt_code
),

joined as (
    select
        buurten.buurt_code,
        buurten.buurt_name,
        cbs_energy.energy_year as cbs_energy_year,
        cbs_energy.avg_gas_m3 as cbs_avg_gas_m3,
        cbs_energy.avg_electricity_kwh as cbs_avg_electricity_kwh,
        cbs_energy.pct_district_heating as cbs_pct_district_heating,
        kwb.kwb_year,
        kwb.avg_gas_m3 as kwb_avg_gas_m3,
        kwb.avg_electricity_kwh as kwb_avg_electricity_kwh,
        coalesce(grid_gas.kleinverbruik_year, grid_electricity.kleinverbruik_year) as grid_year,
        grid_gas.connections as grid_gas_connections,
        grid_gas.total_annual_use as grid_gas_total_m3,
        grid_gas.avg_annual_use_per_connection as grid_gas_avg_m3_per_connection,
        grid_gas.share_ranges_split as grid_gas_share_ranges_split,
        grid_electricity.connections as grid_electricity_connections,
        grid_electricity.total_annual_use as grid_electricity_total_kwh,
        grid_electricity.avg_annual_use_per_connection as grid_electricity_avg_kwh_per_connection,
        grid_electricity.share_ranges_split as grid_electricity_share_ranges_split,
        heating.heating_year,
        heating.pct_individual_gas_boiler,
        heating.pct_block_heating,
        heating.pct_district_heating_high_gas,
        heating.pct_district_heating_low_gas,
        heating.pct_district_heating_no_gas,
        heating.pct_hybrid_heat_pump,
        heating.pct_electric_low_gas,
        heating.pct_electric_no_gas,
        heating.pct_unknown as pct_heating_unknown,
        heating.pct_gas_free,
        coalesce(modelled.n_dwellings, 0) as n_dwellings,
        coalesce(modelled.n_dwellings_modelled, 0) as n_dwellings_modelled,
        modelled.modelled_heat_demand_gj,
        modelled.modelled_heat_demand_gj_avg,
        modelled.modelled_gas_m3,
        modelled.modelled_gas_m3_avg,
        parameters.by_name['gas_lower_heating_value'] as gas_lower_heating_value_mj_per_m3,
        parameters.by_name['boiler_efficiency_space_heating'] as boiler_efficiency_space_heating,
        parameters.by_name['boiler_efficiency_hot_water'] as boiler_efficiency_hot_water
    from buurten
    cross join parameters
    left join cbs_energy on cbs_energy.buurt_code = buurten.buurt_code
    left join kwb on kwb.buurt_code = buurten.buurt_code
    left join heating on heating.region_code = buurten.buurt_code
    left join grid_gas on grid_gas.buurt_code = buurten.buurt_code
    left join grid_electricity on grid_electricity.buurt_code = buurten.buurt_code
    left join modelled on modelled.buurt_code = buurten.buurt_code
),

final as (
    select
        *,
        coalesce(cbs_avg_gas_m3, kwb_avg_gas_m3) as measured_gas_m3_avg,
        case
            when cbs_avg_gas_m3 is not null then 'cbs_energie'
            when kwb_avg_gas_m3 is not null then 'cbs_kwb'
        end as measured_gas_source,
        modelled_gas_m3_avg / nullif(coalesce(cbs_avg_gas_m3, kwb_avg_gas_m3), 0) as ratio_modelled_to_measured_gas,
        modelled_gas_m3_avg / nullif(grid_gas_avg_m3_per_connection, 0) as ratio_modelled_to_grid_gas
    from joined
    order by buurt_code
)

select * from final
