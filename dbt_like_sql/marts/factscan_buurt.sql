-- Factscan per buurt: people, dwellings, ownership, age of the stock, energy use, income, area.
with buurten as (
    select * from staging.stg_pdok__buurten
),

kwb as (
    select * from staging.stg_cbs__kwb
    where region_type = 'buurt'
),

joined as (
    select
        buurten.buurt_code,
        buurten.buurt_name,
        buurten.wijk_code,
        buurten.gemeente_code,
        buurten.gemeente_name,
        kwb.kwb_year,
        kwb.inhabitants,
        kwb.households,
        kwb.dwellings,
        kwb.avg_woz_eur,
        kwb.pct_owner_occupied,
        kwb.pct_corporation,
        kwb.pct_private_rent,
        kwb.pct_built_before_2000,
        kwb.pct_built_since_2000,
        kwb.pct_built_last_10_years,
        kwb.avg_gas_m3,
        kwb.avg_electricity_kwh,
        kwb.pct_district_heating,
        kwb.income_per_inhabitant_eur,
        kwb.pct_low_income_households,
        buurten.area_ha,
        kwb.region_code is not null as has_kwb_figures
    from buurten
    left join kwb on kwb.region_code = buurten.buurt_code
),

final as (
    select
        *,
        round(dwellings / nullif(area_ha, 0), 1) as dwellings_per_ha
    from joined
    order by buurt_code
)

select * from final
