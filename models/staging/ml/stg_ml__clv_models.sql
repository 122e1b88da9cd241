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
        cast(r as {{ type_double() }}) as r,
        cast(alpha as {{ type_double() }}) as alpha,
        cast(a as {{ type_double() }}) as a,
        cast(b as {{ type_double() }}) as b,
        cast(bgnbd_log_likelihood as {{ type_double() }}) as bgnbd_log_likelihood,
        bgnbd_converged,
        gamma_gamma_customers,
        cast(p as {{ type_double() }}) as p,
        cast(q as {{ type_double() }}) as q,
        cast(v as {{ type_double() }}) as v,
        cast(gamma_gamma_log_likelihood as {{ type_double() }}) as gamma_gamma_log_likelihood,
        gamma_gamma_converged,
        -- dates and timestamps
        observation_end,
        {{ to_utc_timestamp('started_at') }} as started_at,
        {{ to_utc_timestamp('fitted_at') }} as fitted_at
    from source

)

select * from renamed
