with

source as (

    select * from {{ source('ml', 'clv_models') }}

),

renamed as (

    select
        -- ids
        run_id,
        -- strings
        status,
        error_message,
        -- numerics
        horizon_days,
        customers,
        cast(r as double precision) as r,
        cast(alpha as double precision) as alpha,
        cast(a as double precision) as a,
        cast(b as double precision) as b,
        cast(bgnbd_log_likelihood as double precision) as bgnbd_log_likelihood,
        bgnbd_converged,
        gamma_gamma_customers,
        cast(p as double precision) as p,
        cast(q as double precision) as q,
        cast(v as double precision) as v,
        cast(gamma_gamma_log_likelihood as double precision) as gamma_gamma_log_likelihood,
        gamma_gamma_converged,
        -- dates and timestamps
        observation_end,
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('fitted_at') }} as fitted_at
    from source

)

select * from renamed
