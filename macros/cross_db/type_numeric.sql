{#- An exact decimal of any scale the value needs. Spark SQL reads a bare `numeric` as decimal(10, 0), an integer,
    so it gets a fixed scale there instead. -#}
{% macro type_numeric() -%}
    {{ return(adapter.dispatch('type_numeric', 'segment_warehouse')()) }}
{%- endmacro %}

{% macro default__type_numeric() -%}
    numeric
{%- endmacro %}

{% macro spark__type_numeric() -%}
    decimal(38, 9)
{%- endmacro %}
