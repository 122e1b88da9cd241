{#- The text type of any length. Spark SQL wants a length on `varchar`, and names unbounded text `string`. -#}
{% macro type_text() -%}
    {{ return(adapter.dispatch('type_text', 'segment_warehouse')()) }}
{%- endmacro %}

{% macro default__type_text() -%}
    varchar
{%- endmacro %}

{% macro spark__type_text() -%}
    string
{%- endmacro %}
