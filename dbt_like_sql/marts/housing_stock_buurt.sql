-- The housing stock per buurt from the address-level model: type, age, label, owner, floor area, heat demand.
with dwellings as (
    select * from intermediate.int_dwellings
),

buurten as (
    select buurt_code, buurt_name, wijk_code, gemeente_code from staging.stg_pdok__buurten
),

per_buurt as (
    select
        buurt_code,
        count(*) as dwellings,
        count(*) filter (where dwelling_type = 'apartment') as n_apartment,
        count(*) filter (where dwelling_type = 'terraced') as n_terraced,
        count(*) filter (where dwelling_type = 'corner') as n_corner,
        count(*) filter (where dwelling_type = 'semi_detached') as n_semi_detached,
        count(*) filter (where dwelling_type = 'detached') as n_detached,
        count(*) filter (where build_year > 1000 and build_year < 1945) as n_built_before_1945,
        count(*) filter (where build_year between 1945 and 1974) as n_built_1945_1974,
        count(*) filter (where build_year between 1975 and 1991) as n_built_1975_1991,
        count(*) filter (where build_year between 1992 and 2005) as n_built_1992_2005,
        count(*) filter (where build_year >= 2006) as n_built_since_2006,
        count(*) filter (where build_year is null or build_year <= 1000) as n_build_year_unknown,
        count(*) filter (where label_class = 'A') as n_label_a,
        count(*) filter (where label_class = 'B') as n_label_b,
        count(*) filter (where label_class = 'C') as n_label_c,
        count(*) filter (where label_class = 'D') as n_label_d,
        count(*) filter (where label_class = 'E') as n_label_e,
        count(*) filter (where label_class = 'F') as n_label_f,
        count(*) filter (where label_class = 'G') as n_label_g,
        count(*) filter (where label_class is null) as n_label_unknown,
        count(*) filter (where label_source = 'registered') as n_label_registered,
        count(*) filter (where label_source = 'estimated') as n_label_estimated,
        count(*) filter (where owner_type = 'owner_occupied') as n_owner_occupied,
        count(*) filter (where owner_type = 'private_rent') as n_private_rent,
        count(*) filter (where owner_type = 'corporation') as n_corporation,
        count(*) filter (where owner_type is null) as n_owner_unknown,
        count(*) filter (where owner_source = 'corporation_portfolio') as n_owner_from_portfolio,
        count(*) filter (where owner_source = 'estimated_from_buurt_shares') as n_owner_estimated,
        count(*) filter (where planned_renovation_year is not null) as n_corporation_renovation_planned,
        avg(floor_area_m2) as avg_floor_area_m2,
        sum(floor_area_m2) as total_floor_area_m2,
        -- exact decimal sums: a parallel sum of doubles depends on row order (see intermediate.int_grid_use_buurt)
        sum(heat_demand_gj::decimal(38, 9))::double as total_heat_demand_gj,
        avg(heat_demand_gj::decimal(38, 9)) as avg_heat_demand_gj
    from dwellings
    group by buurt_code
),

final as (
    select
        buurten.buurt_code,
        buurten.buurt_name,
        buurten.wijk_code,
        buurten.gemeente_code,
        coalesce(per_buurt.dwellings, 0) as dwellings,
        per_buurt.* exclude (buurt_code, dwellings),
        round(100.0 * (n_label_e + n_label_f + n_label_g) / nullif(per_buurt.dwellings, 0), 1) as pct_label_efg,
        round(100.0 * n_label_estimated / nullif(per_buurt.dwellings, 0), 1) as pct_label_estimated,
        round(100.0 * n_owner_estimated / nullif(per_buurt.dwellings, 0), 1) as pct_owner_estimated
    from buurten
    left join per_buurt on per_buurt.buurt_code = buurten.buurt_code
    order by buurten.buurt_code
)

select * from final
