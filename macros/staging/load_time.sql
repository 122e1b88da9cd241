{#- When the raw rows were loaded, as a UTC timestamp: the `loaded_at` var when set (YYYY-MM-DD or a timestamp),
    else the build's wall clock, since the loaders record no load time with the rows. A raw row dated after it is
    quarantined, and the default observation_end never passes it. -#}
{% macro load_time() -%}
    {%- if var('loaded_at', none) -%}
        cast('{{ var("loaded_at") }}' as timestamp)
    {%- else -%}
        {{ to_utc_timestamp(dbt.current_timestamp()) }}
    {%- endif -%}
{%- endmacro %}
