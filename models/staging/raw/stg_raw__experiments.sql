with

source as (

    select * from {{ source('raw', 'experiments') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('experiment_id') }} as experiment_id,

        ---------- strings
        trim(experiment_name) as experiment_name,
        {{ clean_enum('experiment_status') }} as experiment_status,
        coalesce(nullif(trim(time_zone), ''), 'UTC') as time_zone,

        ---------- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at

    from source

)

select * from renamed
