{#- Schemas are exactly raw, staging, intermediate, marts and ml on every target: a custom schema is used as
    it is, never prefixed with the target's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
