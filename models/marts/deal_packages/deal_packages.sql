-- One row per package of the latest succeeded deal packages run: its deals and what a buyer needs to know of
-- them (price range, formats, SSPs, safety and audience), for BI.
with

runs as (

    select * from {{ ref('stg_ml__deal_package_runs') }}

),

packages as (

    select * from {{ ref('stg_ml__deal_packages') }}

),

members as (

    select * from {{ ref('stg_ml__deal_package_members') }}

),

deals as (

    select * from {{ ref('stg_raw__deals') }}

),

latest_run as (

    select
        run_id,
        finished_at,
        embedding_backend,
        embedding_model
    from runs
    where status = 'succeeded'
    order by finished_at desc, run_id desc
    limit 1

),

member_deals as (

    select
        members.package_id,
        members.deal_id,
        members.is_soft_assignment,
        deals.ssp,
        deals.deal_format,
        deals.garm_risk_rating,
        deals.family_safe,
        deals.demographic_hint,
        deals.floor_price
    from members
    inner join latest_run
        on members.run_id = latest_run.run_id
    left join deals
        on members.deal_id = deals.deal_id

),

summarised as (

    select
        package_id,
        count(*) as deal_count,
        cast(sum(case when is_soft_assignment then 1 else 0 end) as bigint) as soft_assigned_deal_count,
        {{ sorted_string_agg('deal_id', ', ') }} as deal_ids,
        min(floor_price) as floor_price_min,
        max(floor_price) as floor_price_max,
        {{ sorted_string_agg('deal_format', ', ', distinct=true) }} as formats,
        {{ sorted_string_agg('ssp', ', ', distinct=true) }} as ssps,
        {{ sorted_string_agg('garm_risk_rating', ', ', distinct=true) }} as garm_risk_ratings,
        cast(sum(case when family_safe then 1 else 0 end) as bigint) as family_safe_deal_count,
        {{ sorted_string_agg('demographic_hint', '; ', distinct=true) }} as demographic_hints
    from member_deals
    group by package_id

),

described as (

    select
        packages.package_id,
        packages.package_name,
        packages.reasoning,
        packages.cluster_id,
        packages.is_offline,
        packages.llm_model,
        latest_run.run_id,
        latest_run.finished_at as run_finished_at,
        latest_run.embedding_backend,
        summarised.deal_count,
        summarised.soft_assigned_deal_count,
        summarised.deal_ids,
        summarised.floor_price_min,
        summarised.floor_price_max,
        summarised.formats,
        summarised.ssps,
        summarised.garm_risk_ratings,
        summarised.family_safe_deal_count,
        summarised.demographic_hints
    from packages
    inner join latest_run
        on packages.run_id = latest_run.run_id
    left join summarised
        on packages.package_id = summarised.package_id

)

select * from described
