-- Registered energy labels (EP-Online), one chosen registration per verblijfsobject.
with source as (
    select * from raw.energy_labels
),

renamed as (
    select
        vbo_id,
        energy_label,
        -- A+ .. A++++ belong to class A; the cost model works on classes A..G.
        case when energy_label like 'A%' then 'A' else energy_label end as label_class,
        registration_date,
        recording_date,
        valid_until,
        building_type,
        building_subtype,
        n_registrations,
        label_choice,
        source as label_origin
    from source
    where vbo_id is not null
)

select * from renamed
