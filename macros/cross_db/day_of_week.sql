{#- The day of the week of a timestamp counted from Sunday: 0 for Sunday to 6 for Saturday. Spark's `dow` counts
    from 1, so the same words would shift every day by one there. -#}
{% macro day_of_week(timestamp) -%}
    {{ return(adapter.dispatch('day_of_week', 'segment_warehouse')(timestamp)) }}
{%- endmacro %}

{% macro default__day_of_week(timestamp) -%}
    extract(dow from {{ timestamp }})
{%- endmacro %}

{% macro spark__day_of_week(timestamp) -%}
    (extract(dow from {{ timestamp }}) - 1)
{%- endmacro %}
