-- The CLV fit every customer model reads: the latest that succeeded. A failed or running fit never replaces it.
with

models as (

    select * from {{ ref('stg_ml__clv_models') }}

),

latest as (

    select
        run_id,
        fitted_at,
        observation_end,
        horizon_days,
        customers,
        r,
        alpha,
        a,
        b,
        gamma_gamma_customers,
        p,
        q,
        v
    from models
    where status = 'succeeded'
    order by fitted_at desc, run_id desc
    limit 1

)

select * from latest
