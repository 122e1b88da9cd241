-- One row per customer with every behavioural feature the segmentation clusters on, and a flag per kind of data
-- the features need. The axes, their features and each feature's requirements are defined once in
-- python_jobs/definitions.py and reach this model through dbt-py. A feature that does not exist for a customer
-- (no gap between purchases with one purchase day, no ticket shares without tickets) is NULL, never a stand-in.
{%- set axes = modules.segments.AXES %}
{%- set requirements = modules.segments.REQUIREMENTS %}

with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_aggregated') }}

),

order_items as (

    select * from {{ ref('int_customer_order_items_aggregated') }}

),

web_events as (

    select * from {{ ref('int_customer_web_events_aggregated') }}

),

support_tickets as (

    select * from {{ ref('int_customer_support_tickets_aggregated') }}

),

computed as (

    select
        profiles.customer_id,
        -- purchase frequency
        -- A month at least, so a first order yesterday is not read as thirty orders a month.
        {{ safe_divide('profiles.total_orders * 30.0', 'greatest(rfm.rfm_age_days, 30)') }} as orders_per_month,
        rfm.rfm_frequency as repeat_purchase_days,
        -- purchase value
        orders.average_order_value,
        orders.max_order_value,
        ln(1 + profiles.lifetime_value) as log_lifetime_value,
        -- category exploration
        order_items.distinct_categories,
        order_items.category_entropy,
        order_items.top_category_spend_share,
        -- price sensitivity
        order_items.discounted_item_share,
        order_items.average_discount_rate,
        -- purchase cadence
        orders.weekend_order_share,
        orders.holiday_season_order_share,
        rfm.mean_days_between_purchases,
        -- customer maturity
        profiles.tenure_days,
        rfm.rfm_age_days as days_since_first_order,
        -- repurchase behaviour
        order_items.repeat_category_item_share,
        rfm.reorder_within_90d_share,
        -- return behaviour
        order_items.returned_item_share,
        order_items.returned_value_share,
        -- communication preference
        support_tickets.email_ticket_share,
        support_tickets.chat_ticket_share,
        support_tickets.phone_ticket_share,
        -- problem complexity
        {{ safe_divide('support_tickets.support_tickets', 'greatest(profiles.total_orders, 1)') }}
            as tickets_per_order,
        support_tickets.high_complexity_ticket_share,
        support_tickets.mean_resolution_hours,
        -- loyalty trajectory
        ln((1 + orders.spend_last_180d) / (1 + orders.spend_prior_180d)) as spend_trend_log_ratio,
        orders.orders_last_180d - orders.orders_prior_180d as order_count_trend,
        -- which data the customer has (the requirements in python_jobs/definitions.py)
        orders.customer_id is not null as has_orders,
        coalesce(rfm.rfm_frequency, 0) >= 1 as has_repeat_purchase,
        coalesce(orders.orders_last_180d + orders.orders_prior_180d, 0) > 0 as has_orders_in_360_days,
        coalesce(orders.orders_before_last_180d, 0) > 0 as has_orders_before_last_180_days,
        coalesce(order_items.item_lines, 0) > 0 as has_order_lines,
        coalesce(order_items.distinct_categories, 0) > 0 as has_category_data,
        coalesce(order_items.price_reference_lines, 0) > 0 as has_price_reference,
        coalesce(order_items.discount_known_lines, 0) > 0 as has_discount_data,
        coalesce(order_items.return_known_lines, 0) > 0 as has_return_data,
        coalesce(support_tickets.support_tickets, 0) > 0 as has_tickets,
        support_tickets.mean_resolution_hours is not null as has_resolved_tickets,
        coalesce(web_events.page_views, 0) > 0 and coalesce(web_events.web_sessions, 0) > 0 as has_web_visits,
        -- product knowledge
        web_events.guide_page_view_share,
        web_events.deal_page_view_share,
        {{ safe_divide('web_events.page_views', 'greatest(profiles.total_orders, 1)') }} as page_views_per_order,
        {{ safe_divide('web_events.add_to_cart_events', 'web_events.web_sessions') }} as add_to_cart_per_session,
        -- value sophistication
        order_items.unit_price_index,
        order_items.premium_item_share
    from profiles
    left join orders
        on profiles.customer_id = orders.customer_id
    left join rfm
        on profiles.customer_id = rfm.customer_id
    left join order_items
        on profiles.customer_id = order_items.customer_id
    left join web_events
        on profiles.customer_id = web_events.customer_id
    left join support_tickets
        on profiles.customer_id = support_tickets.customer_id

),

features as (

    select
        customer_id,
        {%- for axis in axes %}
            {%- for feature in axis.features %}
                {%- if feature.requires %}
                    cast(case
                        when
                            {%- for requirement in feature.requires %}
                                {% if not loop.first %}and {% endif %}{{ requirement.flag }}
                            {%- endfor %}
                            then {{ feature.name }}
                    end as {{ type_double() }}) as {{ feature.name }},
                {%- else %}
                    cast({{ feature.name }} as {{ type_double() }}) as {{ feature.name }},
                {%- endif %}
            {%- endfor %}
        {%- endfor %}
        {%- for requirement in requirements %}
            {{ requirement.flag }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from computed

)

select * from features
