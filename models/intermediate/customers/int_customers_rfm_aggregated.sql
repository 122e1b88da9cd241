-- Recency, frequency, age and monetary value per customer, in the BG/NBD convention at day grain, as of
-- observation_end. Customers without a purchase have no row here.
with

purchase_days as (

    select * from {{ ref('int_customer_purchase_days') }}

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

aggregated as (

    select
        purchase_days.customer_id,
        min(purchase_days.purchase_date) as first_purchase_date,
        max(purchase_days.purchase_date) as last_purchase_date,
        count(*) - 1 as rfm_frequency,
        {{ dbt.datediff('min(purchase_days.purchase_date)', 'max(purchase_days.purchase_date)', 'day') }}
            as rfm_recency_days,
        {{ dbt.datediff('min(purchase_days.purchase_date)', 'observation_window.observation_end', 'day') }}
            as rfm_age_days,
        -- Mean net value per repeat purchase day: the first purchase day is not a repeat.
        cast(
            coalesce(
                {{ money_average("case when purchase_days.purchase_day_number > 1 then purchase_days.net_value end") }},
                0
            ) as numeric(18, 2)
        ) as rfm_monetary_value,
        cast(
            avg({{ dbt.datediff('purchase_days.previous_purchase_date', 'purchase_days.purchase_date', 'day') }})
            as {{ type_double() }}
        ) as mean_days_between_purchases,
        {{ safe_divide(
            "count(*) filter (where " ~ dbt.datediff('purchase_days.purchase_date', 'purchase_days.next_purchase_date', 'day') ~ " <= 90)",
            "count(*)"
        ) }} as reorder_within_90d_share
    from purchase_days
    cross join observation_window
    group by purchase_days.customer_id, observation_window.observation_end

)

select * from aggregated
