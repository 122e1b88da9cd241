{#- Fails with every value of the column that is not a time zone name the database knows (Europe/Paris, UTC):
    a misspelt zone would otherwise fail the first model that reads the local time, far from its cause. -#}
{% test time_zones_are_known(model, column_name) %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and {{ column_name }} not in (select known_zones.name from {{ known_time_zones() }} as known_zones)

{% endtest %}

{% macro known_time_zones() -%}
    {{ return(adapter.dispatch('known_time_zones', 'segment_warehouse')()) }}
{%- endmacro %}

{% macro default__known_time_zones() -%}
    pg_timezone_names
{%- endmacro %}

{% macro duckdb__known_time_zones() -%}
    pg_timezone_names()
{%- endmacro %}

{#- Spark has no catalog of zone names. Its zones are Java's, from the same tz database as pytz (which dbt's Jinja
    offers as `modules.pytz`), so the names are listed from there. -#}
{% macro spark__known_time_zones() -%}
    (
        select explode(array(
            {%- for zone in modules.pytz.all_timezones %}'{{ zone }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )) as name
    )
{%- endmacro %}
