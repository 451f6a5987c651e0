-- Socio-economic strength per buurt and an energy-poverty indicator.
-- CBS suppresses buurt incomes below 2,500 persons; then the wijk's, else the gemeente's figure is shown
-- and income_level says which.
with buurten as (
    select buurt_code, buurt_name, wijk_code, gemeente_code from staging.stg_pdok__buurten
),

kwb as (
    select * from staging.stg_cbs__kwb
),

stock as (
    select buurt_code, dwellings, pct_label_efg from marts.housing_stock_buurt
),

joined as (
    select
        buurten.buurt_code,
        buurten.buurt_name,
        buurten.wijk_code,
        buurten.gemeente_code,
        buurt.inhabitants,
        buurt.households,
        buurt.avg_woz_eur,
        coalesce(buurt.income_per_inhabitant_eur, wijk.income_per_inhabitant_eur, gemeente.income_per_inhabitant_eur)
            as income_per_inhabitant_eur,
        case
            when buurt.income_per_inhabitant_eur is not null then 'buurt'
            when wijk.income_per_inhabitant_eur is not null then 'wijk'
            when gemeente.income_per_inhabitant_eur is not null then 'gemeente'
        end as income_level,
        coalesce(buurt.pct_low_income_households, wijk.pct_low_income_households,
                 gemeente.pct_low_income_households) as pct_low_income_households,
        case
            when buurt.pct_low_income_households is not null then 'buurt'
            when wijk.pct_low_income_households is not null then 'wijk'
            when gemeente.pct_low_income_households is not null then 'gemeente'
        end as low_income_level,
        buurt.pct_households_below_110_social_minimum,
        stock.dwellings as dwellings_bag,
        stock.pct_label_efg
    from buurten
    left join kwb as buurt on buurt.region_code = buurten.buurt_code
    left join kwb as wijk on wijk.region_code = buurten.wijk_code
    left join kwb as gemeente on gemeente.region_code = buurten.gemeente_code
    left join stock on stock.buurt_code = buurten.buurt_code
),

final as (
    select
        *,
        -- Energy poverty, after TNO's LILEK idea (low income and a dwelling of low energy quality; TNO 2023,
        -- "De feiten over energiearmoede in Nederland"): the share of low-income households times the share of
        -- dwellings with label E-G, assuming the two are independent within the buurt (they are not quite:
        -- low incomes live more often in poor dwellings, so this is a lower estimate).
        round(pct_low_income_households * pct_label_efg / 100.0, 2) as est_pct_households_energy_poor,
        round(households * pct_low_income_households * pct_label_efg / 10000.0) as est_households_energy_poor
    from joined
    order by buurt_code
)

select * from final
