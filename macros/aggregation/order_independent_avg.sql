{#- The mean of a float expression over rows (nulls ignored, like avg), the same whatever order the rows come in:
    the order-independent sum over the count. A double; null over no rows. -#}
{% macro order_independent_avg(expression, decimal_places=12) -%}
    {{ safe_divide(order_independent_sum(expression, decimal_places), 'count(' ~ expression ~ ')') }}
{%- endmacro %}
