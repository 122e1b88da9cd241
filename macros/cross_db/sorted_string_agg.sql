{#- The values of a text column joined by a separator in sorted order, each once when `distinct`. -#}
{% macro sorted_string_agg(expression, separator, distinct=false) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'segment_warehouse')(expression, separator, distinct)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(expression, separator, distinct) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expression }}, '{{ separator }}' order by {{ expression }})
{%- endmacro %}

{#- Spark 4.3's `string_agg(distinct ...) within group` fails at analysis; an array sort says the same. `count`
    keeps a group of only nulls null, as string_agg does. -#}
{% macro spark__sorted_string_agg(expression, separator, distinct) -%}
    case
        when count({{ expression }}) > 0
            then array_join(
                array_sort({{ 'collect_set' if distinct else 'collect_list' }}({{ expression }})), '{{ separator }}'
            )
    end
{%- endmacro %}
