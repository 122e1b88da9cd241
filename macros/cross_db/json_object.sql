{#- A JSON object from (key, value expression) pairs: jsonb on PostgreSQL, so it can carry a GIN index; JSON
    on DuckDB. -#}
{% macro json_object(pairs) -%}
    {{ return(adapter.dispatch('json_object', 'segment_warehouse')(pairs)) }}
{%- endmacro %}

{% macro default__json_object(pairs) -%}
    jsonb_build_object(
        {%- for key, value in pairs %}
            '{{ key }}', {{ value }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{% macro duckdb__json_object(pairs) -%}
    json_object(
        {%- for key, value in pairs %}
            '{{ key }}', {{ value }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- to_json drops null fields unless told not to; the other targets keep them as JSON nulls. -#}
{% macro spark__json_object(pairs) -%}
    to_json(
        named_struct(
            {%- for key, value in pairs %}
                '{{ key }}', {{ value }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        ),
        map('ignoreNullFields', 'false')
    )
{%- endmacro %}
