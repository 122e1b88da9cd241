{#- Whether the whole of a text matches a regular expression (POSIX-style, no anchors needed); null on null. -#}
{% macro matches_fully(text, pattern) -%}
    {{ return(adapter.dispatch('matches_fully', 'segment_warehouse')(text, pattern)) }}
{%- endmacro %}

{% macro default__matches_fully(text, pattern) -%}
    ({{ text }} ~ '^({{ pattern }})$')
{%- endmacro %}

{% macro duckdb__matches_fully(text, pattern) -%}
    regexp_full_match({{ text }}, '{{ pattern }}')
{%- endmacro %}

{#- Java regular expressions: the project's patterns use only what POSIX and Java read alike. -#}
{% macro spark__matches_fully(text, pattern) -%}
    regexp_like({{ text }}, '^({{ pattern }})$')
{%- endmacro %}
