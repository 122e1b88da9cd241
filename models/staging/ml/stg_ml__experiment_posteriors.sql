with

source as (

    select * from {{ source('ml', 'experiment_posteriors') }}

),

renamed as (

    select

        ----------  ids
        run_id,
        experiment_id,
        segment_key,
        variant_id,

        ---------- numerics
        assignments,
        conversions,
        posterior_alpha,
        posterior_beta,
        probability_best,

        ---------- booleans
        learns_from_experiment,
        is_burn_in

    from source

)

select * from renamed
