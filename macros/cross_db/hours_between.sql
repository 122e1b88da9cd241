{#- Exact elapsed hours (fractional) between two timestamps; dbt.datediff counts hour boundaries instead. -#}
{% macro hours_between(start_timestamp, end_timestamp) -%}
    {{ return(adapter.dispatch('hours_between', 'segment_warehouse')(start_timestamp, end_timestamp)) }}
{%- endmacro %}

{% macro default__hours_between(start_timestamp, end_timestamp) -%}
    extract(epoch from ({{ end_timestamp }} - {{ start_timestamp }})) / 3600.0
{%- endmacro %}

{% macro duckdb__hours_between(start_timestamp, end_timestamp) -%}
    date_diff('second', {{ start_timestamp }}, {{ end_timestamp }}) / 3600.0
{%- endmacro %}

{% macro spark__hours_between(start_timestamp, end_timestamp) -%}
    (unix_micros({{ end_timestamp }}) - unix_micros({{ start_timestamp }})) / 3600000000.0
{%- endmacro %}
