{% macro clean_id(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}
