-- Participation per buurt: reach of the contact moments, survey response and willingness (null for small cells).
with participation as (
    select * from staging.stg_participation__buurt
),

buurten as (
    select buurt_code, buurt_name from staging.stg_pdok__buurten
),

kwb as (
    select region_code as buurt_code, households
    from staging.stg_cbs__kwb
    where region_type = 'buurt'
),

dwellings as (
    select buurt_code, count(*) as n_dwellings
    from intermediate.int_dwellings
    group by buurt_code
),

joined as (
    select
        participation.*,
        buurten.buurt_name,
        coalesce(kwb.households, dwellings.n_dwellings) as households,
        case
            when kwb.households is not null then 'cbs_kwb'
            when dwellings.n_dwellings is not null then 'dwellings'
        end as households_source
    from participation
    left join buurten on buurten.buurt_code = participation.buurt_code
    left join kwb on kwb.buurt_code = participation.buurt_code
    left join dwellings on dwellings.buurt_code = participation.buurt_code
),

final as (
    select
        buurt_code,
        buurt_name,
        households,
        households_source,
        contact_moments,
        households_reached,
        households_reached / nullif(households, 0) as reach_ratio,
        first_contact_date,
        last_contact_date,
        respondents,
        respondents / nullif(households, 0) as response_rate,
        small_cell,
        -- shares over respondents; never over a small cell, even if unsuppressed counts were loaded
        case when not small_cell then willing_yes / nullif(respondents, 0) end as share_willing_yes,
        case when not small_cell then willing_maybe / nullif(respondents, 0) end as share_willing_maybe,
        case when not small_cell then willing_no / nullif(respondents, 0) end as share_willing_no,
        case when not small_cell then willing_unknown / nullif(respondents, 0) end as share_willing_unknown,
        case when not small_cell then concern_kosten / nullif(respondents, 0) end as share_concern_kosten,
        case when not small_cell then concern_comfort / nullif(respondents, 0) end as share_concern_comfort,
        case when not small_cell then concern_overlast / nullif(respondents, 0) end as share_concern_overlast,
        case when not small_cell then concern_onzekerheid / nullif(respondents, 0) end as share_concern_onzekerheid,
        case when not small_cell then concern_techniek / nullif(respondents, 0) end as share_concern_techniek,
        case when not small_cell then concern_geen / nullif(respondents, 0) end as share_concern_geen,
        case when not small_cell then concern_overig / nullif(respondents, 0) end as share_concern_overig,
        case when not small_cell then concern_unknown / nullif(respondents, 0) end as share_concern_unknown
    from joined
    order by buurt_code
)

select * from final
