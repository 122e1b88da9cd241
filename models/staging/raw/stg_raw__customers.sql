-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__customers') }}

),

usable as (

    select
        customer_id,
        email,
        country_code,
        acquisition_channel,
        is_marketing_opt_in,
        signed_up_at
    from checked
    where quarantine_reason is null

)

select * from usable
