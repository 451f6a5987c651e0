-- Housing corporations' portfolio rows, matched to BAG verblijfsobjecten.
with source as (
    select * from raw.corporation_portfolio
),

renamed as (
    select
        source_row,
        corporation,
        matched_vbo_id as vbo_id,
        match_method,
        unmatched_reason,
        energy_label as portfolio_energy_label,
        label_date as portfolio_label_date,
        planned_renovation_year,
        planned_measure,
        rent_class
    from source
)

select * from renamed
