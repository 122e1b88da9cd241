-- Support needs per customer as of observation_end.
with

support_tickets as (

    select * from {{ ref('int_support_tickets_attributed') }}

),

aggregated as (

    select
        customer_id,
        count(*) as support_tickets,
        {{ safe_divide("count(*) filter (where contact_channel = 'email')", 'count(*)') }} as email_ticket_share,
        {{ safe_divide("count(*) filter (where contact_channel = 'chat')", 'count(*)') }} as chat_ticket_share,
        {{ safe_divide("count(*) filter (where contact_channel = 'phone')", 'count(*)') }} as phone_ticket_share,
        {{ safe_divide("count(*) filter (where complexity = 'high')", 'count(*)') }} as high_complexity_ticket_share,
        {{ order_independent_avg(hours_between('opened_at', 'resolved_at')) }} as mean_resolution_hours,
        avg(satisfaction_score) as mean_satisfaction_score
    from support_tickets
    group by customer_id

)

select * from aggregated
