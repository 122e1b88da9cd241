with

source as (

    select * from {{ source('ml', 'experiment_weight_runs') }}

),

renamed as (

    select

        ----------  ids
        run_id,
        experiment_id,

        ---------- strings
        status,
        parameters,

        ---------- numerics
        segment_count,
        assignments,
        conversions,

        ---------- timestamps
        {{ to_utc_timestamp('computed_at') }} as computed_at

    from source

)

select * from renamed
