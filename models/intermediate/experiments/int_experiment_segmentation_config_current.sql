-- The segmentation config in force for every experiment: its latest config row, or the defaults when it has none.
{%- set experiments = modules.experiments %}
{%- set slots = range(1, experiments.MAX_SEGMENT_BY_FIELDS + 1) %}

with

experiments as (

    select * from {{ ref('stg_raw__experiments') }}

),

config_rows as (

    select * from {{ ref('stg_ml__experiment_segmentation_config') }}

),

ranked_config_rows as (

    select
        *,
        row_number() over (partition by experiment_id order by changed_at desc) as recency_rank
    from config_rows

),

latest_config as (

    select * from ranked_config_rows
    where recency_rank = 1

),

config_in_force as (

    select
        experiments.experiment_id,
        coalesce(latest_config.segmentation_mode, '{{ experiments.DEFAULT_MODE }}') as segmentation_mode,
        coalesce(latest_config.segment_by, '[]') as segment_by,
        {%- for slot in slots %}
            {{ json_array_text('coalesce(latest_config.segment_by, \'[]\')', slot - 1) }} as segment_field_{{ slot }},
        {%- endfor %}
        coalesce(
            latest_config.min_samples_per_segment, {{ experiments.DEFAULT_MIN_SAMPLES_PER_SEGMENT }}
        ) as min_samples_per_segment,
        coalesce(latest_config.auto_activation, false) as auto_activation,
        coalesce(
            latest_config.auto_activation_threshold, {{ experiments.DEFAULT_AUTO_ACTIVATION_THRESHOLD }}
        ) as auto_activation_threshold,
        latest_config.changed_at,
        latest_config.changed_by,
        latest_config.experiment_id is null as is_default
    from experiments
    left join latest_config
        on experiments.experiment_id = latest_config.experiment_id

)

select * from config_in_force
