with

source as (

    select * from {{ source('ml', 'segment_axes') }}

),

renamed as (

    select
        run_id,
        axis_name,
        segment_count,
        silhouette,
        is_silhouette_poor,
        silhouette_by_k,
        feature_drop_agreement,
        time_window_agreement,
        -- Runs written before axes could go unclustered were all clustered.
        coalesce(axis_status, '{{ modules.segments.AXIS_CLUSTERED }}') as axis_status,
        placeable_sample_customers
    from source

)

select * from renamed
