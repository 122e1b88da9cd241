{#- The text of the element at a zero-based position of a JSON array held as text; null past its end. -#}
{% macro json_array_text(json_column, position) -%}
    {{ return(adapter.dispatch('json_array_text', 'segment_warehouse')(json_column, position)) }}
{%- endmacro %}

{% macro default__json_array_text(json_column, position) -%}
    (cast({{ json_column }} as jsonb) ->> {{ position }})
{%- endmacro %}

{% macro duckdb__json_array_text(json_column, position) -%}
    json_extract_string({{ json_column }}, '$[{{ position }}]')
{%- endmacro %}

{#- get_json_object gives a nested value as its JSON text and a JSON null as null, as the others do. -#}
{% macro spark__json_array_text(json_column, position) -%}
    get_json_object({{ json_column }}, '$[{{ position }}]')
{%- endmacro %}
