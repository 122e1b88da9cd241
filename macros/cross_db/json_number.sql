{#- A top-level key of a JSON object as a double precision number: a JSON number, or a string holding a plain
    decimal number ("0.7", "-2", "1e3"); null for anything else, so a bad value never fails a build. Both
    databases apply the same pattern, so they agree on what counts as a number. -#}
{% macro json_number(json_column, key) -%}
    {%- set text = json_text(json_column, key) -%}
    case
        when {{ matches_fully(text, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?') }}
            then cast({{ text }} as {{ type_double() }})
    end
{%- endmacro %}
