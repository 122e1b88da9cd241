with

source as (

    select * from {{ source('ml', 'experiment_auto_activations') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('experiment_id') }} as experiment_id,
        recommendation_id,
        run_id,

        ---------- strings
        mode as segmentation_mode,
        segment_by,
        reason as activation_reason,

        ---------- numerics
        trailing_7_day_mean_visitors,
        auto_activation_threshold,

        ---------- timestamps
        traffic_as_of,
        {{ to_utc_timestamp('activated_at') }} as activated_at

    from source

)

select * from renamed
