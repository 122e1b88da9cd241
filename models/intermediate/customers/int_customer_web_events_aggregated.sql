-- Browsing behaviour per customer as of observation_end.
with

web_events as (

    select * from {{ ref('int_web_events_attributed') }}

),

aggregated as (

    select
        customer_id,
        count(distinct session_id) as web_sessions,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'add_to_cart') as add_to_cart_events,
        {{ safe_divide(
            "count(*) filter (where event_type = 'page_view' and page_type = 'deals')",
            "count(*) filter (where event_type = 'page_view')"
        ) }} as deal_page_view_share,
        {{ safe_divide(
            "count(*) filter (where event_type = 'page_view' and page_type = 'guide')",
            "count(*) filter (where event_type = 'page_view')"
        ) }} as guide_page_view_share
    from web_events
    group by customer_id

)

select * from aggregated
