{#- The ISO day of the week of a timestamp: 1 for Monday to 7 for Sunday. -#}
{% macro iso_day_of_week(timestamp) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'segment_warehouse')(timestamp)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(timestamp) -%}
    extract(isodow from {{ timestamp }})
{%- endmacro %}

{% macro spark__iso_day_of_week(timestamp) -%}
    extract(dayofweek_iso from {{ timestamp }})
{%- endmacro %}
