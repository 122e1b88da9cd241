{#- A p-value as a reader writes it, the same on every target: `< 0.0001` below that, else `= ` and four decimals.
    A double cast to text reads `1e-05` on DuckDB and PostgreSQL but `1.0E-5` on Spark. -#}
{% macro p_value_text(p_value) -%}
    case
        when {{ p_value }} < 0.0001 then '< 0.0001'
        else '= ' || cast(cast({{ p_value }} as decimal(12, 4)) as {{ type_text() }})
    end
{%- endmacro %}
