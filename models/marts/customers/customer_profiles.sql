-- One row per canonical customer: what they bought, when, and what they are likely to be worth (BG/NBD and
-- Gamma-Gamma, fitted by the fit_clv job).
{#- On PostgreSQL the service reads one profile by customer_id per request (see customer_segments). #}
{{ config(
    indexes=[{'columns': ['customer_id'], 'unique': True}] if target.type == 'postgres' else []
) }}

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

revenue as (

    select * from {{ ref('int_customer_revenue_aggregated') }}

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

clv as (

    select * from {{ ref('int_customers_clv_predicted') }}

),

joined as (

    select
        customers.customer_id,
        customers.country_code,
        customers.acquisition_channel,
        customers.is_marketing_opt_in,
        customers.merged_account_count,
        coalesce(orders.total_orders, 0) as total_orders,
        coalesce(revenue.gross_revenue, 0) as gross_revenue,
        coalesce(revenue.returned_value, 0) as returned_value,
        coalesce(revenue.net_revenue, 0) as net_revenue,
        coalesce(revenue.lifetime_value, 0) as lifetime_value,
        orders.average_order_value,
        rfm.rfm_frequency,
        rfm.rfm_recency_days,
        rfm.rfm_age_days,
        rfm.rfm_monetary_value,
        {{ dbt.datediff('rfm.last_purchase_date', 'observation_window.observation_end', 'day') }}
            as days_since_last_purchase,
        {{ dbt.datediff('cast(customers.first_seen_at as date)', 'observation_window.observation_end', 'day') }}
            as tenure_days,
        clv.probability_alive,
        clv.expected_purchases as expected_purchases_365d,
        clv.expected_spend_per_purchase,
        clv.clv as clv_365d,
        clv.clv_run_id,
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
    left join revenue
        on customers.customer_id = revenue.customer_id
    left join web_events
        on customers.customer_id = web_events.customer_id
    left join support_tickets
        on customers.customer_id = support_tickets.customer_id
    left join clv
        on customers.customer_id = clv.customer_id

),

profiles as (

    select
        customer_id,
        country_code,
        acquisition_channel,
        is_marketing_opt_in,
        merged_account_count,
        total_orders,
        cast(gross_revenue as numeric(18, 2)) as gross_revenue,
        cast(returned_value as numeric(18, 2)) as returned_value,
        cast(net_revenue as numeric(18, 2)) as net_revenue,
        cast(lifetime_value as numeric(18, 2)) as lifetime_value,
        cast(average_order_value as numeric(18, 2)) as average_order_value,
        cast(days_since_last_purchase as integer) as days_since_last_purchase,
        cast(tenure_days as integer) as tenure_days,
        cast(probability_alive as {{ type_double() }}) as probability_alive,
        cast(1 - probability_alive as {{ type_double() }}) as churn_risk,
        cast(expected_purchases_365d as {{ type_double() }}) as expected_purchases_365d,
        cast(expected_spend_per_purchase as {{ type_double() }}) as expected_spend_per_purchase,
        -- Undiscounted: expected purchase days in the next 365 days times the expected spend per purchase day.
        cast(clv_365d as {{ type_double() }}) as clv_365d,
        cast(clv_run_id as {{ type_text() }}) as clv_run_id,
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
    from joined

)

select * from profiles
