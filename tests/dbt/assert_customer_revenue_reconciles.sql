-- Fails with every customer whose net revenue is not gross revenue minus returned value, or whose lifetime value
-- is not their net revenue (floored at 0): the figures an analyst reconciles with finance.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

)

select
    customer_id,
    gross_revenue,
    returned_value,
    net_revenue,
    lifetime_value
from profiles
where
    net_revenue != gross_revenue - returned_value
    or lifetime_value != greatest(net_revenue, 0)
