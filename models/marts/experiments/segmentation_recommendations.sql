-- Every segmentation recommendation, with what was decided about it and whether it switched the experiment on.
with

recommendations as (

    select * from {{ ref('stg_ml__experiment_segmentation_recommendations') }}

),

decisions as (

    select * from {{ ref('stg_ml__experiment_recommendation_decisions') }}

),

activations as (

    select * from {{ ref('stg_ml__experiment_auto_activations') }}

),

first_activations as (

    select
        recommendation_id,
        min(activated_at) as auto_activated_at
    from activations
    group by recommendation_id

),

latest_recommendations as (

    select
        recommendation_id,
        row_number() over (
            partition by experiment_id order by recommended_at desc
        ) = 1 as is_latest
    from recommendations

),

segmentation_recommendations as (

    select
        cast(recommendations.recommendation_id as {{ type_text() }}) as recommendation_id,
        cast(recommendations.experiment_id as {{ type_text() }}) as experiment_id,
        cast(recommendations.recommended_at as timestamp) as recommended_at,
        recommendations.traffic_as_of,
        cast(recommendations.trailing_7_day_mean_visitors as {{ type_double() }}) as trailing_7_day_mean_visitors,
        cast(recommendations.auto_activation_threshold as bigint) as auto_activation_threshold,
        recommendations.is_eligible,
        cast(recommendations.recommended_mode as {{ type_text() }}) as recommended_mode,
        cast(recommendations.segment_by as {{ type_text() }}) as segment_by,
        cast(recommendations.best_single_variant_rate as {{ type_double() }}) as best_single_variant_rate,
        cast(recommendations.per_segment_rate as {{ type_double() }}) as per_segment_rate,
        cast(recommendations.expected_lift as {{ type_double() }}) as expected_lift,
        cast(recommendations.lift_method as {{ type_text() }}) as lift_method,
        cast(recommendations.reason as {{ type_text() }}) as reason,
        latest_recommendations.is_latest,
        cast(
            case
                when decisions.decision is not null then decisions.decision
                when first_activations.auto_activated_at is not null then 'auto_activated'
                when latest_recommendations.is_latest then 'pending'
                else 'superseded'
            end as {{ type_text() }}
        ) as status,
        cast(decisions.decided_at as timestamp) as decided_at,
        cast(first_activations.auto_activated_at as timestamp) as auto_activated_at
    from recommendations
    inner join latest_recommendations
        on recommendations.recommendation_id = latest_recommendations.recommendation_id
    left join decisions
        on recommendations.recommendation_id = decisions.recommendation_id
    left join first_activations
        on recommendations.recommendation_id = first_activations.recommendation_id

)

select * from segmentation_recommendations
