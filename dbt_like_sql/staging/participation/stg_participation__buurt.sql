-- Participation per buurt: contact moments and survey counts (aggregates only; small cells already blanked).
with source as (
    select * from raw.participation_buurt
),

renamed as (
    select
        buurt_code,
        contact_moments,
        households_reached,
        first_contact_date,
        last_contact_date,
        respondents,
        willing_yes,
        willing_maybe,
        willing_no,
        willing_unknown,
        concern_kosten,
        concern_comfort,
        concern_overlast,
        concern_onzekerheid,
        concern_techniek,
        concern_geen,
        concern_overig,
        concern_unknown,
        small_cell
    from source
)

select * from renamed
