with

source as (

    select * from {{ source('ml', 'experiment_segmentation_recommendations') }}

),

renamed as (

    select

        ----------  ids
        recommendation_id,
        {{ clean_id('experiment_id') }} as experiment_id,
        run_id,

        ---------- strings
        recommended_mode,
        segment_by,
        lift_method,
        field_scores,
        reason,

        ---------- numerics
        is_eligible,
        trailing_7_day_mean_visitors,
        auto_activation_threshold,
        best_single_variant_rate,
        per_segment_rate,
        expected_lift,

        ---------- timestamps
        traffic_as_of,
        {{ to_utc_timestamp('recommended_at') }} as recommended_at

    from source

)

select * from renamed
