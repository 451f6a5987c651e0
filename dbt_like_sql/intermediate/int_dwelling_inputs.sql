-- One row per residential verblijfsobject in use, with what the housing model needs to know about it.
with objects as (
    select * from intermediate.int_verblijfsobjecten
    where is_residential and is_in_use
),

panden as (
    select * from intermediate.int_panden_classified
),

labels as (
    select * from staging.stg_ep_online__labels
),

portfolio as (
    select
        vbo_id,
        min(corporation) as corporation,
        min(planned_renovation_year) as planned_renovation_year,
        min(planned_measure) as planned_measure
    from staging.stg_corporations__portfolio
    where vbo_id is not null
    group by vbo_id
),

final as (
    select
        objects.vbo_id,
        objects.pand_id,
        objects.buurt_code,
        objects.buurt_source,
        objects.postcode,
        objects.house_number,
        objects.house_letter,
        objects.house_number_addition,
        objects.build_year,
        objects.floor_area_m2,
        panden.dwelling_type,
        panden.dwelling_type_class,
        panden.dwelling_type_method,
        labels.energy_label as registered_label,
        labels.registration_date as registered_label_date,
        portfolio.vbo_id is not null as in_corporation_portfolio,
        portfolio.corporation,
        portfolio.planned_renovation_year,
        portfolio.planned_measure
    from objects
    left join panden on panden.pand_id = objects.pand_id
    left join labels on labels.vbo_id = objects.vbo_id
    left join portfolio on portfolio.vbo_id = objects.vbo_id
)

select * from final
