{#- A time-zone-aware timestamp as a plain timestamp in UTC. -#}
{% macro to_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'segment_warehouse')(column)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(column) -%}
    cast({{ column }} at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- DuckDB's `at time zone` needs ICU; `timezone()` says the same thing and reads plainer. -#}
{% macro duckdb__to_utc_timestamp(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}

{#- Spark's timestamp is already an instant shown in UTC (the session's time zone, profiles.yml). -#}
{% macro spark__to_utc_timestamp(column) -%}
    cast({{ column }} as timestamp)
{%- endmacro %}
