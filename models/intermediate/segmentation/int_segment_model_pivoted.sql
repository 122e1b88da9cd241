-- The latest run's segment model as one wide row: per axis, whether it was clustered, each feature's mean and
-- scale, and per segment slot (1 to MAX_SEGMENTS_PER_AXIS) its name and centroid. Unused slots are null. One row
-- lets the assignment score every customer against every centroid in a single pass, with no join fanning
-- customers out per centroid.
{%- set axes = modules.segments.AXES %}
{%- set slots = range(1, modules.segments.MAX_SEGMENTS_PER_AXIS + 1) %}

with

latest_run as (

    select * from {{ ref('int_segmentation_runs_latest') }}

),

axis_statuses as (

    {{ rows_of_latest_segmentation_run('stg_ml__segment_axes') }}

),

scaling as (

    {{ rows_of_latest_segmentation_run('stg_ml__segment_feature_scaling') }}

),

definitions as (

    {{ rows_of_latest_segmentation_run('stg_ml__segment_definitions') }}

),

centroids as (

    {{ rows_of_latest_segmentation_run('stg_ml__segment_centroids') }}

),

status_pivoted as (

    select
        {%- for axis in axes %}
            max(case
                when axis_name = '{{ axis.name }}' then axis_status
            end) as {{ axis.name }}__status{% if not loop.last %},{% endif %}
        {%- endfor %}
    from axis_statuses

),

scaling_pivoted as (

    select
        {%- for axis in axes %}
            {%- set last_axis = loop.last %}
            {%- for feature in axis.features %}
                max(case
                    when axis_name = '{{ axis.name }}' and feature_name = '{{ feature.name }}' then feature_mean
                end) as {{ axis.name }}__{{ feature.name }}__mean,
                max(case
                    when axis_name = '{{ axis.name }}' and feature_name = '{{ feature.name }}' then feature_scale
                end) as {{ axis.name }}__{{ feature.name }}__scale{% if not (last_axis and loop.last) %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    from scaling

),

names_pivoted as (

    select
        {%- for axis in axes %}
            {%- set last_axis = loop.last %}
            {%- for slot in slots %}
                max(case
                    when axis_name = '{{ axis.name }}' and segment_id = {{ slot }} then segment_name
                end) as {{ axis.name }}__s{{ slot }}__name{% if not (last_axis and loop.last) %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    from definitions

),

centroids_pivoted as (

    select
        {%- for axis in axes %}
            {%- set last_axis = loop.last %}
            {%- for slot in slots %}
                {%- set last_slot = loop.last %}
                {%- for feature in axis.features %}
                    max(case
                        when
                            axis_name = '{{ axis.name }}'
                            and segment_id = {{ slot }}
                            and feature_name = '{{ feature.name }}'
                            then centroid_value
                    end) as {{ axis.name }}__s{{ slot }}__{{ feature.name }}
                    {%- if not (last_axis and last_slot and loop.last) %},{% endif %}
                {%- endfor %}
            {%- endfor %}
        {%- endfor %}
    from centroids

),

segment_model as (

    select
        latest_run.run_id,
        status_pivoted.*,
        scaling_pivoted.*,
        names_pivoted.*,
        centroids_pivoted.*
    from latest_run
    cross join status_pivoted
    cross join scaling_pivoted
    cross join names_pivoted
    cross join centroids_pivoted

)

select * from segment_model
