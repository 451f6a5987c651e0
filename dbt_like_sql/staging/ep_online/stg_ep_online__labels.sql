-- Registered energy labels (EP-Online), one chosen registration per verblijfsobject.
with source as (
    -- gemeente partitions fetched by bounding box overlap at their borders: each object once
    select * from raw.energy_labels
    qualify row_number() over (partition by vbo_id order by partition_gemeente) = 1
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
