{#- Fails with every group of allocation weights (a run's segment) whose weights do not add up to 1, or that holds
    a weight under the floor; both from python_jobs/experiments/definitions.py, through dbt-py. -#}
{% test allocation_weights_are_valid(model, group_by, column_name='weight') %}
{%- set experiments = modules.experiments %}
{%- set tolerance = experiments.ALLOCATION_WEIGHT_TOLERANCE %}

select
    {{ group_by | join(', ') }},
    sum({{ column_name }}) as total_weight,
    min({{ column_name }}) as smallest_weight
from {{ model }}
group by {{ group_by | join(', ') }}
having
    abs(sum({{ column_name }}) - 1) > {{ tolerance }}
    or min({{ column_name }}) < {{ experiments.ALLOCATION_WEIGHT_FLOOR }} - {{ tolerance }}

{% endtest %}
