with

source as (

    select * from {{ source('raw', 'experiment_assignments') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('experiment_id') }} as experiment_id,
        {{ clean_id('variant_id') }} as variant_id,
        {{ clean_id('visitor_id') }} as visitor_id,

        ---------- strings
        {{ clean_enum('channel') }} as channel,
        coalesce(nullif(trim(context), ''), '{}') as context,

        ---------- timestamps
        {{ to_utc_timestamp('assigned_at') }} as assigned_at

    from source

)

select * from renamed
