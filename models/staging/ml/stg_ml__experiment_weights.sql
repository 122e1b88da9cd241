with

source as (

    select * from {{ source('ml', 'experiment_weights') }}

),

renamed as (

    select

        ----------  ids
        run_id,
        experiment_id,
        segment_key,
        variant_id,

        ---------- numerics
        weight,

        ---------- timestamps
        {{ to_utc_timestamp('computed_at') }} as computed_at

    from source

)

select * from renamed
