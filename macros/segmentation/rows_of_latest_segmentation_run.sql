{#- The rows of an ml staging model that belong to the latest succeeded clustering run. -#}
{% macro rows_of_latest_segmentation_run(model_name) -%}
    select run_rows.*
    from {{ ref(model_name) }} as run_rows
    inner join {{ ref('int_segmentation_runs_latest') }} as latest_run
        on run_rows.run_id = latest_run.run_id
{%- endmacro %}
