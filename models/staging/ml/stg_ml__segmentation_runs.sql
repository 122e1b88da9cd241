with

source as (

    select * from {{ source('ml', 'segmentation_runs') }}

),

renamed as (

    select
        run_id,
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('finished_at') }} as finished_at,
        status,
        parameters,
        population_size,
        sample_size,
        error_message
    from source

)

select * from renamed
