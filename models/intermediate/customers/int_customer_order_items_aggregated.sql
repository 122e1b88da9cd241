-- What customers bought, line by line, summarised per customer: category mix, discounts, returns and price level.
-- Float sums and means go through order_independent_sum/avg: a float sum depends on the order rows come in.
with

order_items as (

    select * from {{ ref('int_order_items_attributed') }}
    where is_purchase

),

-- What each customer bought of each category: one pass gives the spend and the first day, which tells repeats.
category_spend as (

    select
        customer_id,
        product_category,
        min(order_date) as first_order_date,
        sum(net_value) as category_spend
    from order_items
    where product_category is not null
    group by customer_id, product_category

),

items_flagged as (

    select
        order_items.customer_id,
        order_items.product_category,
        order_items.unit_price,
        order_items.typical_unit_price,
        order_items.list_value,
        order_items.net_value,
        order_items.discount_amount,
        order_items.is_discounted,
        order_items.is_returned,
        -- A line is a repeat when the customer had bought its category on an earlier day.
        order_items.product_category is not null
        and order_items.order_date > category_spend.first_order_date
            as is_repeat_category
    from order_items
    left join category_spend
        on
            order_items.customer_id = category_spend.customer_id
            and order_items.product_category = category_spend.product_category

),

customer_category_spend as (

    select
        customer_id,
        sum(category_spend) as total_category_spend
    from category_spend
    group by customer_id

),

-- A group-by and a join rather than a window over all of a customer's categories: the same sums, far cheaper.
category_shares as (

    select
        category_spend.customer_id,
        category_spend.product_category,
        {{ safe_divide('category_spend.category_spend', 'customer_category_spend.total_category_spend') }}
            as spend_share
    from category_spend
    inner join customer_category_spend
        on category_spend.customer_id = customer_category_spend.customer_id

),

category_mix as (

    select
        customer_id,
        count(*) as distinct_categories,
        {{ order_independent_sum('case when spend_share > 0 then -spend_share * ln(spend_share) else 0 end') }}
            as category_entropy,
        max(spend_share) as top_category_spend_share
    from category_shares
    group by customer_id

),

item_totals as (

    select
        customer_id,
        count(*) as item_lines,
        -- Shares over the lines whose discount or return status is known: an export without discounts or
        -- returns says nothing about them, which is not the same as "none".
        count(is_discounted) as discount_known_lines,
        count(is_returned) as return_known_lines,
        count(typical_unit_price) as price_reference_lines,
        {{ safe_divide('count(*) filter (where is_discounted)', 'count(is_discounted)') }} as discounted_item_share,
        {{ safe_divide(
            'sum(discount_amount)', 'sum(case when discount_amount is not null then list_value end)'
        ) }} as average_discount_rate,
        {{ safe_divide('count(*) filter (where is_returned)', 'count(is_returned)') }} as returned_item_share,
        {{ safe_divide(
            'sum(case when is_returned then net_value else 0 end)',
            'sum(case when is_returned is not null then net_value end)'
        ) }} as returned_value_share,
        {{ safe_divide('count(*) filter (where is_repeat_category)', 'count(*)') }} as repeat_category_item_share,
        {{ order_independent_avg(safe_divide('unit_price', 'typical_unit_price')) }} as unit_price_index,
        {{ safe_divide(
            'count(*) filter (where unit_price >= 1.5 * typical_unit_price)',
            'count(typical_unit_price)'
        ) }} as premium_item_share
    from items_flagged
    group by customer_id

),

aggregated as (

    select
        item_totals.customer_id,
        item_totals.item_lines,
        item_totals.discount_known_lines,
        item_totals.return_known_lines,
        item_totals.price_reference_lines,
        item_totals.discounted_item_share,
        item_totals.average_discount_rate,
        item_totals.returned_item_share,
        item_totals.returned_value_share,
        item_totals.repeat_category_item_share,
        item_totals.unit_price_index,
        item_totals.premium_item_share,
        category_mix.distinct_categories,
        category_mix.category_entropy,
        category_mix.top_category_spend_share
    from item_totals
    left join category_mix
        on item_totals.customer_id = category_mix.customer_id

)

select * from aggregated
