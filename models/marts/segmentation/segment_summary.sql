-- One row per axis and segment of the latest succeeded run: how big and valuable the segment is, what
-- defines it, how robust it is, and whether it is worth acting on (with the reasons when it is not). The explicit
-- segments of customers an axis could not place (`no_orders`, `one_time_buyer`, ...) or did not cluster have rows
-- of their own with is_clustered = false: their share is counted, but they have no centroid, no robustness and
-- no viability verdict.
{%- set requirements = modules.segments.REQUIREMENTS %}
{%- set unclustered = modules.segments.UNCLUSTERED_AXIS_SEGMENTS %}

with

assignments as (

    select * from {{ ref('int_customers_assigned_to_segments') }}

),

profiles as (

    select * from {{ ref('customer_profiles') }}

),

definitions as (

    {{ rows_of_latest_segmentation_run('stg_ml__segment_definitions') }}

),

axes as (

    {{ rows_of_latest_segmentation_run('stg_ml__segment_axes') }}

),

robustness as (

    {{ rows_of_latest_segmentation_run('stg_ml__segment_robustness') }}

),

segment_sizes as (

    select
        assignments.axis_name,
        assignments.segment_id,
        assignments.segment_name,
        assignments.is_clustered,
        count(*) as customers,
        sum(profiles.lifetime_value) as total_lifetime_value,
        -- Summed in exact decimals: a float sum's last digits depend on the order the threads add in.
        {{ order_independent_sum('coalesce(profiles.clv_365d, 0)') }} as total_clv_365d,
        -- A customer without a prediction counts as 0, not as missing.
        {{ order_independent_avg('coalesce(profiles.clv_365d, 0)') }} as average_clv_365d,
        count(profiles.clv_365d) as customers_with_clv
    from assignments
    inner join profiles
        on assignments.customer_id = profiles.customer_id
    group by assignments.axis_name, assignments.segment_id, assignments.segment_name, assignments.is_clustered

),

population as (

    select count(*) as customers
    from profiles

),

segments as (

    select
        definitions.axis_name,
        definitions.segment_id,
        definitions.segment_name,
        true as is_clustered,
        definitions.defining_features,
        definitions.run_id
    from definitions
    union all
    select
        segment_sizes.axis_name,
        segment_sizes.segment_id,
        segment_sizes.segment_name,
        false as is_clustered,
        case segment_sizes.segment_name
            {%- for requirement in requirements %}
                when '{{ requirement.segment_name }}'
                    then 'not placed on this axis: lacks {{ requirement.description }}'
            {%- endfor %}
            {%- for segment_name, reason in unclustered.values() %}
                when '{{ segment_name }}' then 'axis not clustered: {{ reason }}'
            {%- endfor %}
        end as defining_features,
        axes.run_id
    from segment_sizes
    inner join axes
        on segment_sizes.axis_name = axes.axis_name
    where not segment_sizes.is_clustered

),

measured as (

    select
        segments.axis_name,
        segments.segment_id,
        segments.segment_name,
        segments.is_clustered,
        segments.run_id,
        segments.defining_features,
        coalesce(segment_sizes.customers, 0) as customers,
        {{ safe_divide('coalesce(segment_sizes.customers, 0)', 'population.customers') }} as customer_share,
        coalesce(segment_sizes.total_lifetime_value, 0) as total_lifetime_value,
        {{ safe_divide('segment_sizes.total_lifetime_value', 'segment_sizes.customers') }}
            as average_lifetime_value,
        coalesce(segment_sizes.total_clv_365d, 0) as total_clv_365d,
        coalesce(segment_sizes.average_clv_365d, 0) as average_clv_365d,
        -- Return on a campaign to the segment: the uplift it buys in expected customer value, over its cost.
        -- None when no customer of the segment has a prediction (no completed order yet): there is no value to
        -- lift, and a return of -100% would read as "never contact them" when nothing is known.
        case
            when coalesce(segment_sizes.customers_with_clv, 0) > 0
                then {{ safe_divide(
                    var('segment_campaign_uplift_rate') ~ ' * segment_sizes.average_clv_365d - '
                    ~ var('segment_contact_cost_per_customer'),
                    var('segment_contact_cost_per_customer')
                ) }}
        end as expected_roi,
        axes.silhouette as axis_silhouette,
        axes.is_silhouette_poor as is_axis_silhouette_poor,
        robustness.bootstrap_jaccard,
        robustness.bootstrap_stability,
        robustness.feature_drop_agreement,
        robustness.time_window_agreement,
        robustness.overall_robustness
    from segments
    cross join population
    left join segment_sizes
        on
            segments.axis_name = segment_sizes.axis_name
            and segments.segment_name = segment_sizes.segment_name
    inner join axes
        on segments.axis_name = axes.axis_name
    left join robustness
        on
            segments.axis_name = robustness.axis_name
            and segments.segment_id = robustness.segment_id

),

validated as (

    select
        *,
        nullif(concat_ws(
            '; ',
            case
                when customers < {{ var('segment_min_customers') }}
                    then 'fewer than {{ var("segment_min_customers") }} customers'
            end,
            case
                when customer_share > {{ var('segment_max_share') }}
                    then 'more than {{ var("segment_max_share") * 100 }}% of customers'
            end,
            case
                when total_clv_365d < {{ var('segment_min_total_clv') }}
                    then 'total predicted CLV (365 days) under {{ var("segment_min_total_clv") }}'
            end,
            case
                when overall_robustness < {{ var('segment_min_robustness') }}
                    then 'robustness under {{ var("segment_min_robustness") }}'
            end,
            case
                when feature_drop_agreement < {{ var('segment_min_feature_stability') }}
                    then 'feature stability under {{ var("segment_min_feature_stability") }}'
            end,
            case
                when expected_roi < {{ var('segment_min_expected_roi') }}
                    then 'expected ROI under {{ var("segment_min_expected_roi") }}'
            end
        ), '') as not_viable_because
    from measured

),

summary as (

    select
        axis_name,
        segment_id,
        segment_name,
        cast(customers as bigint) as customers,
        cast(customer_share as {{ type_double() }}) as customer_share,
        cast(total_lifetime_value as numeric(18, 2)) as total_lifetime_value,
        cast(average_lifetime_value as {{ type_double() }}) as average_lifetime_value,
        cast(total_clv_365d as {{ type_double() }}) as total_clv_365d,
        cast(average_clv_365d as {{ type_double() }}) as average_clv_365d,
        cast(expected_roi as {{ type_double() }}) as expected_roi,
        defining_features,
        cast(axis_silhouette as {{ type_double() }}) as axis_silhouette,
        is_axis_silhouette_poor,
        cast(bootstrap_jaccard as {{ type_double() }}) as bootstrap_jaccard,
        bootstrap_stability,
        cast(feature_drop_agreement as {{ type_double() }}) as feature_drop_agreement,
        cast(time_window_agreement as {{ type_double() }}) as time_window_agreement,
        cast(overall_robustness as {{ type_double() }}) as overall_robustness,
        is_clustered,
        case when is_clustered then not_viable_because is null end as is_viable,
        cast(case when is_clustered then not_viable_because end as {{ type_text() }}) as not_viable_because,
        run_id as segmentation_run_id
    from validated

)

select * from summary
