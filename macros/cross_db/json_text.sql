{#- The text of a top-level key of a JSON object held as text; null when the key is missing, null in the JSON, or
    the value is not an object. A nested value comes back as its JSON text. -#}
{% macro json_text(json_column, key) -%}
    {{ return(adapter.dispatch('json_text', 'segment_warehouse')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_text(json_column, key) -%}
    (cast({{ json_column }} as jsonb) ->> '{{ key }}')
{%- endmacro %}

{% macro duckdb__json_text(json_column, key) -%}
    json_extract_string({{ json_column }}, '$."{{ key }}"')
{%- endmacro %}

{#- Spark's JSON paths read `$.key` (the keys here are plain names); a path it cannot read gives null, silently. -#}
{% macro spark__json_text(json_column, key) -%}
    get_json_object({{ json_column }}, '$.{{ key }}')
{%- endmacro %}
