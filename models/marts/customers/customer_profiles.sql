-- One row per canonical customer: what they bought, when, and what they are likely to be worth.
with

customers as (

    select * from {{ ref('int_customers_unified') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_aggregated') }}

),

orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}

),

web_events as (

    select * from {{ ref('int_customer_web_events_aggregated') }}

),

support_tickets as (

    select * from {{ ref('int_customer_support_tickets_aggregated') }}

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

joined as (

    select
        customers.customer_id,
        customers.country_code,
        customers.acquisition_channel,
        customers.is_marketing_opt_in,
        customers.merged_account_count,
        coalesce(orders.total_orders, 0) as total_orders,
        coalesce(orders.lifetime_value, 0) as lifetime_value,
        orders.average_order_value,
        rfm.rfm_frequency,
        rfm.rfm_recency_days,
        rfm.rfm_age_days,
        rfm.rfm_monetary_value,
        {{ dbt.datediff('rfm.last_purchase_date', 'observation_window.observation_end', 'day') }}
            as days_since_last_purchase,
        {{ dbt.datediff('cast(customers.first_seen_at as date)', 'observation_window.observation_end', 'day') }}
            as tenure_days,
        -- The customer's own typical gap between purchase days; a default when there is only one purchase day.
        case
            when rfm.rfm_frequency > 0
                then greatest({{ safe_divide('rfm.rfm_recency_days', 'rfm.rfm_frequency') }}, 1.0)
            else {{ var('default_purchase_gap_days') }}
        end as expected_purchase_gap_days,
        coalesce(support_tickets.support_tickets, 0) as support_tickets,
        coalesce(web_events.web_sessions, 0) as web_sessions,
        customers.first_seen_at,
        orders.first_order_at,
        orders.last_order_at,
        observation_window.observation_end
    from customers
    cross join observation_window
    left join rfm
        on customers.customer_id = rfm.customer_id
    left join orders
        on customers.customer_id = orders.customer_id
    left join web_events
        on customers.customer_id = web_events.customer_id
    left join support_tickets
        on customers.customer_id = support_tickets.customer_id

),

scored as (

    select
        *,
        -- Chance that an active customer buying at their usual pace would have bought again by now.
        1 - exp(-1.0 * days_since_last_purchase / expected_purchase_gap_days) as churn_risk_score
    from joined

),

profiles as (

    select
        customer_id,
        country_code,
        acquisition_channel,
        is_marketing_opt_in,
        merged_account_count,
        total_orders,
        cast(lifetime_value as numeric(18, 2)) as lifetime_value,
        cast(average_order_value as numeric(18, 2)) as average_order_value,
        cast(days_since_last_purchase as integer) as days_since_last_purchase,
        cast(tenure_days as integer) as tenure_days,
        cast(round(cast(churn_risk_score as numeric), 4) as numeric(6, 4)) as churn_risk_score,
        -- Expected purchase days in the horizon at the customer's own pace, times the chance they are still
        -- active, times their mean spend per purchase day.
        cast(
            (1 - churn_risk_score)
            * {{ var('clv_horizon_days') }} / expected_purchase_gap_days
            * lifetime_value / (rfm_frequency + 1)
            as numeric(18, 2)
        ) as clv_estimate,
        rfm_frequency,
        cast(rfm_recency_days as integer) as rfm_recency_days,
        cast(rfm_age_days as integer) as rfm_age_days,
        cast(rfm_monetary_value as numeric(18, 2)) as rfm_monetary_value,
        support_tickets,
        web_sessions,
        first_seen_at,
        first_order_at,
        last_order_at,
        observation_end
    from scored

)

select * from profiles
