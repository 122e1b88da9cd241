{#- Fails with every (axis, segment name) pair that is not a name the axis's naming can produce. The accepted
    names come from python_jobs/definitions.py through dbt-py, so they cannot drift from the job's. -#}
{% test segment_names_belong_to_their_axis(model, axis_column, name_column) %}

select
    {{ axis_column }} as axis_name,
    {{ name_column }} as segment_name
from {{ model }}
where not (
    {%- for axis in modules.segments.AXES %}
        ({{ axis_column }} = '{{ axis.name }}' and {{ name_column }} in (
            {%- for name in axis.accepted_segment_names() -%}
                '{{ name }}'{% if not loop.last %}, {% endif %}
            {%- endfor -%}
        )){% if not loop.last %} or{% endif %}
    {%- endfor %}
)

{% endtest %}
