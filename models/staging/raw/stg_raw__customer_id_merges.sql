-- Usable rows only: the rest are in quarantined_raw_rows, with the reason.
with

checked as (

    select * from {{ ref('base_raw__customer_id_merges') }}

),

usable as (

    select
        merge_id,
        source_customer_id,
        target_customer_id,
        merged_at
    from checked
    where quarantine_reason is null

)

select * from usable
