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

first_checks as (

    select
        *,
        case
            when source_customer_id is null or target_customer_id is null then 'missing_customer_id'
            when source_customer_id = target_customer_id then 'self_merge'
        end as first_reason
    from renamed

),

-- An account is merged away at most once. Among the otherwise usable rows, an account merged into two different
-- accounts cannot be resolved (which one is right?), so all its rows are set aside; the same merge recorded
-- twice keeps its earliest row.
checked as (

    select
        merge_id,
        source_customer_id,
        target_customer_id,
        merged_at,
        case
            when first_reason is not null then first_reason
            when
                min(target_customer_id) over (partition by source_customer_id, first_reason)
                <> max(target_customer_id) over (partition by source_customer_id, first_reason)
                then 'merged_into_several_accounts'
            when
                row_number() over (
                    partition by source_customer_id, first_reason order by merged_at, merge_id
                ) > 1
                then 'duplicate_merge'
        end as quarantine_reason
    from first_checks

)

select * from checked
