{#- A plain UTC timestamp as the wall-clock time in an IANA time zone (a column or a quoted name). -#}
{% macro to_local_timestamp(utc_timestamp, time_zone) -%}
    {{ return(adapter.dispatch('to_local_timestamp', 'segment_warehouse')(utc_timestamp, time_zone)) }}
{%- endmacro %}

{% macro default__to_local_timestamp(utc_timestamp, time_zone) -%}
    (({{ utc_timestamp }} at time zone 'UTC') at time zone {{ time_zone }})
{%- endmacro %}

{% macro duckdb__to_local_timestamp(utc_timestamp, time_zone) -%}
    timezone({{ time_zone }}, timezone('UTC', {{ utc_timestamp }}))
{%- endmacro %}

{#- Spark's timestamps are instants shown in the session's time zone (UTC, profiles.yml): from_utc_timestamp
    shifts one to the wall-clock time of the zone. -#}
{% macro spark__to_local_timestamp(utc_timestamp, time_zone) -%}
    from_utc_timestamp({{ utc_timestamp }}, {{ time_zone }})
{%- endmacro %}
