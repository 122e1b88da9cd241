{#- A top-level key of a JSON object as a bigint: a JSON integer or a string of up to 18 digits; null for
    anything else (3.5, "three"), so a bad value never fails a build. -#}
{% macro json_integer(json_column, key) -%}
    {%- set text = json_text(json_column, key) -%}
    case
        when {{ matches_fully(text, '[+-]?[0-9]{1,18}') }} then cast({{ text }} as bigint)
    end
{%- endmacro %}
