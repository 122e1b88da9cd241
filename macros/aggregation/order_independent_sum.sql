{#- The sum of a float expression over rows, the same whatever order the database adds the rows up in. A float
    sum depends on that order in its last digits, and DuckDB's parallel aggregation changes it from run to run,
    so each term is rounded to `decimal_places` decimals and the terms are added as exact decimals. A double;
    null over no rows. -#}
{% macro order_independent_sum(expression, decimal_places=12) -%}
    cast(sum(cast({{ expression }} as numeric(38, {{ decimal_places }}))) as {{ type_double() }})
{%- endmacro %}
