with

source as (

    select * from {{ source('ml', 'experiment_segmentation_config') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('experiment_id') }} as experiment_id,

        ---------- strings
        {{ clean_enum('mode') }} as segmentation_mode,
        coalesce(nullif(trim(segment_by), ''), '[]') as segment_by,
        changed_by,

        ---------- numerics
        min_samples_per_segment,
        auto_activation,
        auto_activation_threshold,

        ---------- timestamps
        {{ to_utc_timestamp('changed_at') }} as changed_at

    from source

)

select * from renamed
