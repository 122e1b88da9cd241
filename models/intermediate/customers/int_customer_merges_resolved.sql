-- Follows every merge chain (A -> B -> C) to its canonical account. The walk is bounded by
-- `max_merge_chain_depth`, so a loop in the data (A -> B -> A) ends instead of running forever; loops and chains
-- longer than the limit are labelled here and named by a test.
{#- On PostgreSQL the service resolves a requested id through this table per request (see customer_segments). #}
{{ config(
    indexes=[{'columns': ['customer_id']}] if target.type == 'postgres' else []
) }}

with recursive

account_merges as (

    select
        source_customer_id,
        target_customer_id
    from {{ ref('stg_raw__customer_id_merges') }}

),

merge_walk as (

    select
        source_customer_id as customer_id,
        target_customer_id as reached_customer_id,
        1 as chain_depth
    from account_merges

    union all

    select
        merge_walk.customer_id,
        account_merges.target_customer_id as reached_customer_id,
        merge_walk.chain_depth + 1 as chain_depth
    from merge_walk
    inner join account_merges
        on merge_walk.reached_customer_id = account_merges.source_customer_id
    where merge_walk.chain_depth < {{ var('max_merge_chain_depth') }}

),

-- An account is on a loop when its own walk comes back to it.
loop_members as (

    select distinct customer_id
    from merge_walk
    where reached_customer_id = customer_id

),

-- All members of a loop share one canonical id, the smallest on the loop, so the choice is stable.
loop_canonical_ids as (

    select
        merge_walk.customer_id,
        min(merge_walk.reached_customer_id) as canonical_customer_id
    from merge_walk
    inner join loop_members
        on merge_walk.customer_id = loop_members.customer_id
    group by merge_walk.customer_id

),

-- Accounts on a loop, or whose chain runs into one.
walks_into_loops as (

    select
        merge_walk.customer_id,
        min(loop_canonical_ids.canonical_customer_id) as canonical_customer_id
    from merge_walk
    inner join loop_canonical_ids
        on merge_walk.reached_customer_id = loop_canonical_ids.customer_id
    group by merge_walk.customer_id

),

walk_ends as (

    select
        customer_id,
        max(chain_depth) as chain_depth
    from merge_walk
    group by customer_id

),

last_steps as (

    select
        merge_walk.customer_id,
        merge_walk.reached_customer_id,
        merge_walk.chain_depth
    from merge_walk
    inner join walk_ends
        on
            merge_walk.customer_id = walk_ends.customer_id
            and merge_walk.chain_depth = walk_ends.chain_depth

),

resolved as (

    select
        last_steps.customer_id,
        coalesce(walks_into_loops.canonical_customer_id, last_steps.reached_customer_id)
            as canonical_customer_id,
        last_steps.chain_depth,
        case
            when walks_into_loops.customer_id is not null then 'cycle'
            when further_merges.source_customer_id is not null then 'too_deep'
            else 'resolved'
        end as resolution_status
    from last_steps
    left join walks_into_loops
        on last_steps.customer_id = walks_into_loops.customer_id
    left join account_merges as further_merges
        on last_steps.reached_customer_id = further_merges.source_customer_id

)

select * from resolved
