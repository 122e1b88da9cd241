{#- Fails with every experiment segment key that is not `all`, a cluster of auto mode (`cluster:3`), or one to
    MAX_SEGMENT_BY_FIELDS `field:value` pairs joined by `|`, each field a known segment field
    (python_jobs/experiments/definitions.py, through dbt-py). -#}
{% test segment_keys_are_well_formed(model, column_name) %}
{%- set experiments = modules.experiments %}
{%- set field = '(' ~ experiments.SEGMENT_FIELDS | join('|') ~ ')' %}
{%- set pair = field ~ '[' ~ experiments.SEGMENT_KEY_VALUE_SEPARATOR ~ '][^|:]+' %}
{%- set cluster = experiments.CLUSTER_SEGMENT_FIELD ~ '[' ~ experiments.SEGMENT_KEY_VALUE_SEPARATOR ~ '][0-9]+' %}
{%- set pattern = experiments.POOLED_SEGMENT_KEY ~ '|' ~ cluster ~ '|' ~ pair ~ '([|]' ~ pair ~ '){0,' ~ (experiments.MAX_SEGMENT_BY_FIELDS - 1) ~ '}' %}

select {{ column_name }}
from {{ model }}
where not {{ matches_fully(column_name, pattern) }}

{% endtest %}
