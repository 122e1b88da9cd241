{#- Division as a float, null when the denominator is zero. Integer division truncates on PostgreSQL but not on
    DuckDB, so every ratio in the project goes through here. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
