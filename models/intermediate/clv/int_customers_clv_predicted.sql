-- BG/NBD and Gamma-Gamma predictions per customer with a purchase, from the latest succeeded CLV fit. P(alive)
-- is closed form, computed here from the stored parameters; expected purchases need the Gauss hypergeometric
-- function and come from the job's per-customer table (null for a customer the fit did not see).
with

rfm as (

    select * from {{ ref('int_customers_rfm_aggregated') }}

),

clv_model as (

    select * from {{ ref('int_clv_models_latest') }}

),

predictions as (

    select * from {{ ref('stg_ml__customer_clv_predictions') }}

),

alive as (

    select
        rfm.customer_id,
        clv_model.run_id as clv_run_id,
        -- BG/NBD lets nobody drop out before their first repeat purchase: P(alive) = 1 without one.
        case
            when rfm.rfm_frequency = 0 then 1.0
            else 1.0 / (
                1.0 + clv_model.a / (clv_model.b + rfm.rfm_frequency - 1)
                -- Capped below the largest exponent a double holds; P(alive) is 0 to 300 places there.
                * exp(least(
                    (clv_model.r + rfm.rfm_frequency)
                    * (ln(clv_model.alpha + rfm.rfm_age_days) - ln(clv_model.alpha + rfm.rfm_recency_days)),
                    700
                ))
            )
        end as probability_alive
    from rfm
    cross join clv_model

),

predicted as (

    select
        alive.customer_id,
        alive.clv_run_id,
        cast(alive.probability_alive as {{ type_double() }}) as probability_alive,
        predictions.expected_purchases,
        predictions.expected_spend_per_purchase,
        predictions.expected_purchases * predictions.expected_spend_per_purchase as clv
    from alive
    left join predictions
        on
            alive.clv_run_id = predictions.run_id
            and alive.customer_id = predictions.customer_id

)

select * from predicted
