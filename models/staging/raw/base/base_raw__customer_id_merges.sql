with

source as (

    select * from {{ source('raw', 'customer_id_merges') }}

),

renamed as (

    select

        ----------  ids
        merge_id,
        {{ clean_id('source_customer_id') }} as source_customer_id,
        {{ clean_id('target_customer_id') }} as target_customer_id,

        ---------- timestamps
        {{ to_utc_timestamp('merged_at') }} as merged_at

    from source

),

checked as (

    select
        *,
        case
            when source_customer_id is null or target_customer_id is null then 'missing_customer_id'
            when source_customer_id = target_customer_id then 'self_merge'
        end as quarantine_reason
    from renamed

)

select * from checked
