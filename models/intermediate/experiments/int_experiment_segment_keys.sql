-- The manual segment key of every assignment, from the segment_by fields of its experiment's config in force.
{%- set experiments = modules.experiments %}
{%- set slots = range(1, experiments.MAX_SEGMENT_BY_FIELDS + 1) %}
{%- set field_separator = experiments.SEGMENT_KEY_FIELD_SEPARATOR %}
{%- set value_separator = experiments.SEGMENT_KEY_VALUE_SEPARATOR %}

with

contexts as (

    select * from {{ ref('int_experiment_contexts') }}

),

config as (

    select * from {{ ref('int_experiment_segmentation_config_current') }}

),

-- The value of each configured field, as text; a field not configured in a slot gives null.
field_values as (

    select
        contexts.experiment_id,
        contexts.visitor_id,
        contexts.variant_id,
        contexts.assigned_on,
        config.segmentation_mode,
        config.min_samples_per_segment,
        {%- for slot in slots %}
            config.segment_field_{{ slot }},
            case config.segment_field_{{ slot }}
                {%- for field in experiments.SEGMENT_FIELDS %}
                    when '{{ field }}' then cast(contexts.{{ field }} as {{ type_text() }})
                {%- endfor %}
            end as segment_value_{{ slot }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from contexts
    inner join config
        on contexts.experiment_id = config.experiment_id

),

keyed as (

    select
        experiment_id,
        visitor_id,
        variant_id,
        assigned_on,
        segmentation_mode,
        min_samples_per_segment,
        coalesce(
            nullif(
                concat_ws(
                    '{{ field_separator }}',
                    {%- for slot in slots %}
                        case
                            when segment_field_{{ slot }} is not null
                                then segment_field_{{ slot }} || '{{ value_separator }}' || coalesce(
                                    nullif(
                                        replace(
                                            replace(
                                                lower(trim(segment_value_{{ slot }})), '{{ field_separator }}', '_'
                                            ),
                                            '{{ value_separator }}',
                                            '_'
                                        ),
                                        ''
                                    ),
                                    '{{ experiments.MISSING_SEGMENT_VALUE }}'
                                )
                        end{% if not loop.last %},{% endif %}
                    {%- endfor %}
                ),
                ''
            ),
            '{{ experiments.POOLED_SEGMENT_KEY }}'
        ) as segment_key
    from field_values

),

counted as (

    select
        experiment_id,
        visitor_id,
        variant_id,
        assigned_on,
        segmentation_mode,
        segment_key,
        count(*) over (partition by experiment_id, segment_key) as segment_assignments,
        count(*) over (partition by experiment_id, segment_key) >= min_samples_per_segment as has_enough_samples
    from keyed

)

select * from counted
