{#- The 8-byte floating-point type. Spark SQL has no `double precision`, the standard spelling the others read. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'segment_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
