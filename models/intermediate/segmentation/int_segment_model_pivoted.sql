-- The latest run's segment model, one row per axis: whether it was clustered, and in generic columns numbered
-- by the feature's place among the axis's features (the order python_jobs/definitions.py gives) each feature's
-- mean and scale, and per segment slot (1 to MAX_SEGMENTS_PER_AXIS) its name and centroid. Unused slots are null.
-- Places past an axis's own features hold mean 0, scale 1 and centroid 0, so they add exactly 0 to a distance.
-- A row per axis lets the assignment score a customer's row of an axis against all its centroids in one pass,
-- with no join fanning customers out per centroid; the generic columns keep the SQL a few dozen expressions
-- long instead of one per axis, slot and feature.
{%- set axes = modules.segments.AXES %}
{%- set slots = range(1, modules.segments.MAX_SEGMENTS_PER_AXIS + 1) %}
{%- set places = range(1, axes | map(attribute='features') | map('length') | max + 1) %}

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

axes as (

    {%- for axis in axes %}

        select
            '{{ axis.name }}' as axis_name,
            {{ axis.features | length }} as feature_count
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

feature_places as (

    {%- for axis in axes %}
        {%- set last_axis = loop.last %}
        {%- for feature in axis.features %}

            select
                '{{ axis.name }}' as axis_name,
                '{{ feature.name }}' as feature_name,
                {{ loop.index }} as feature_place
            {% if not (last_axis and loop.last) %}union all{% endif %}
        {%- endfor %}
    {%- endfor %}

),

status_pivoted as (

    select
        axis_name,
        max(axis_status) as axis_status
    from axis_statuses
    group by axis_name

),

scaling_pivoted as (

    select
        scaling.axis_name,
        {%- for place in places %}
            max(case
                when feature_places.feature_place = {{ place }} then scaling.feature_mean
            end) as feature_{{ place }}_mean,
            max(case
                when feature_places.feature_place = {{ place }} then scaling.feature_scale
            end) as feature_{{ place }}_scale{% if not loop.last %},{% endif %}
        {%- endfor %}
    from scaling
    inner join feature_places
        on
            scaling.axis_name = feature_places.axis_name
            and scaling.feature_name = feature_places.feature_name
    group by scaling.axis_name

),

names_pivoted as (

    select
        axis_name,
        {%- for slot in slots %}
            max(case
                when segment_id = {{ slot }} then segment_name
            end) as s{{ slot }}_name{% if not loop.last %},{% endif %}
        {%- endfor %}
    from definitions
    group by axis_name

),

centroids_pivoted as (

    select
        centroids.axis_name,
        {%- for slot in slots %}
            {%- set last_slot = loop.last %}
            {%- for place in places %}
                max(case
                    when
                        centroids.segment_id = {{ slot }}
                        and feature_places.feature_place = {{ place }}
                        then centroids.centroid_value
                end) as s{{ slot }}_feature_{{ place }}{% if not (last_slot and loop.last) %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    from centroids
    inner join feature_places
        on
            centroids.axis_name = feature_places.axis_name
            and centroids.feature_name = feature_places.feature_name
    group by centroids.axis_name

),

segment_model as (

    select
        latest_run.run_id,
        axes.axis_name,
        status_pivoted.axis_status,
        {%- for place in places %}
            case
                when axes.feature_count < {{ place }} then 0 else scaling_pivoted.feature_{{ place }}_mean
            end as feature_{{ place }}_mean,
            case
                when axes.feature_count < {{ place }} then 1 else scaling_pivoted.feature_{{ place }}_scale
            end as feature_{{ place }}_scale,
        {%- endfor %}
        {%- for slot in slots %}
            names_pivoted.s{{ slot }}_name,
        {%- endfor %}
        {%- for slot in slots %}
            {%- set last_slot = loop.last %}
            {%- for place in places %}
                case
                    when axes.feature_count < {{ place }} then 0 else centroids_pivoted.s{{ slot }}_feature_{{ place }}
                end as s{{ slot }}_feature_{{ place }}{% if not (last_slot and loop.last) %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    from latest_run
    cross join axes
    left join status_pivoted on axes.axis_name = status_pivoted.axis_name
    left join scaling_pivoted on axes.axis_name = scaling_pivoted.axis_name
    left join names_pivoted on axes.axis_name = names_pivoted.axis_name
    left join centroids_pivoted on axes.axis_name = centroids_pivoted.axis_name

)

select * from segment_model
