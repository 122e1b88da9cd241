{#- The mean of a money column, rounded half up to the cent, computed exactly on both databases. PostgreSQL's
    numeric avg is exact; DuckDB's avg (and any decimal division) returns a double, which lands a half-cent tie
    on either side, so DuckDB averages whole cents in integer arithmetic instead. Null over no rows. -#}
{% macro money_average(expression) -%}
    {{ return(adapter.dispatch('money_average', 'segment_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__money_average(expression) -%}
    cast(round(avg({{ expression }}), 2) as numeric(18, 2))
{%- endmacro %}

{% macro duckdb__money_average(expression) -%}
    cast(
        cast(
            (2 * sum(cast(round({{ expression }} * 100) as hugeint)) + count({{ expression }}))
            // nullif(2 * count({{ expression }}), 0)
            as decimal(38, 0)
        ) * cast(0.01 as decimal(3, 2))
        as numeric(18, 2)
    )
{%- endmacro %}
