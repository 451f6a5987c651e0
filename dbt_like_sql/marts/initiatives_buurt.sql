-- Running initiatives per buurt: its own, and those covering its whole wijk.
with initiatives as (
    select * from staging.stg_municipal__initiatives
),

buurten as (
    select buurt_code, buurt_name, wijk_code from staging.stg_pdok__buurten
),

buurt_initiatives as (
    select
        initiatives.buurt_code,
        initiatives.party,
        initiatives.kind,
        initiatives.title,
        initiatives.start_year,
        initiatives.status,
        initiatives.households_involved,
        false as is_wijk_wide
    from initiatives
    where initiatives.buurt_code is not null
),

wijk_initiatives as (
    -- an initiative for a whole wijk counts in each of its buurten; its households are not split over them
    select
        buurten.buurt_code,
        initiatives.party,
        initiatives.kind,
        initiatives.title,
        initiatives.start_year,
        initiatives.status,
        cast(null as bigint) as households_involved,
        true as is_wijk_wide
    from initiatives
    inner join buurten on buurten.wijk_code = initiatives.wijk_code
    where initiatives.buurt_code is null
),

all_initiatives as (
    select * from buurt_initiatives
    union all
    select * from wijk_initiatives
),

per_buurt as (
    select
        buurt_code,
        count(*) as n_initiatives,
        count(case when is_wijk_wide then 1 end) as n_wijk_wide,
        count(case when status = 'idee' then 1 end) as n_idea,
        count(case when status = 'lopend' then 1 end) as n_running,
        count(case when status = 'afgerond' then 1 end) as n_completed,
        string_agg(distinct kind, ', ' order by kind) as kinds,
        string_agg(distinct party, ', ' order by party) as parties,
        string_agg(title, '; ' order by title) as titles,
        cast(sum(households_involved) as bigint) as households_involved,
        min(start_year) as first_start_year,
        max(start_year) as last_start_year
    from all_initiatives
    group by buurt_code
),

final as (
    select
        per_buurt.buurt_code,
        buurten.buurt_name,
        per_buurt.n_initiatives,
        per_buurt.n_wijk_wide,
        per_buurt.n_idea,
        per_buurt.n_running,
        per_buurt.n_completed,
        per_buurt.kinds,
        per_buurt.parties,
        per_buurt.titles,
        per_buurt.households_involved,
        per_buurt.first_start_year,
        per_buurt.last_start_year
    from per_buurt
    left join buurten on buurten.buurt_code = per_buurt.buurt_code
    order by per_buurt.buurt_code
)

select * from final
