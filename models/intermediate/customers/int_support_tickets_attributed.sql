-- Support tickets opened up to observation_end, attributed to the canonical customer.
with

support_tickets as (

    select * from {{ ref('stg_raw__support_tickets') }}

),

account_merges as (

    select * from {{ ref('int_customer_merges_resolved') }}

),

observation_window as (

    select * from {{ ref('int_observation_window') }}

),

attributed as (

    select
        support_tickets.ticket_id,
        coalesce(account_merges.canonical_customer_id, support_tickets.customer_id) as customer_id,
        support_tickets.contact_channel,
        support_tickets.complexity,
        support_tickets.topic,
        support_tickets.satisfaction_score,
        support_tickets.opened_at,
        -- A resolution after observation_end had not happened yet on that date.
        case
            when cast(support_tickets.resolved_at as date) <= observation_window.observation_end
                then support_tickets.resolved_at
        end as resolved_at
    from support_tickets
    cross join observation_window
    left join account_merges
        on support_tickets.customer_id = account_merges.customer_id
    where cast(support_tickets.opened_at as date) <= observation_window.observation_end

)

select * from attributed
