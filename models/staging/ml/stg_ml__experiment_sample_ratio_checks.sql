with

source as (

    select * from {{ source('ml', 'experiment_sample_ratio_checks') }}

),

renamed as (

    select

        ----------  ids
        run_id,
        experiment_id,
        segment_key,
        weights_run_id,

        ---------- numerics
        assignments,
        chi_square,
        p_value,

        ---------- booleans
        is_testable,
        is_mismatch,

        ---------- dates
        assigned_on

    from source

)

select * from renamed
