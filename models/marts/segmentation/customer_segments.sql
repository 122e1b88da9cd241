-- One row per customer: the segment on every axis, how firmly they belong to it, all memberships as one JSON
-- object, and the profile metrics BI tools filter by.
{%- set axes = modules.segments.AXES %}
{%- set membership_pairs = [] %}
{%- for axis in axes %}
    {%- do membership_pairs.append((axis.name, 'pivoted.' ~ axis.name)) %}
{%- endfor %}
{#- On PostgreSQL, GET /segments/customer/{id} reads one row by customer_id: without the index that is a scan of
    every customer. DuckDB finds the row from its zone maps, and an index would only slow its build. #}
{{ config(
    indexes=[
        {'columns': ['segment_memberships'], 'type': 'gin'},
        {'columns': ['customer_id'], 'unique': True},
    ] if target.type == 'postgres' else []
) }}

with

assignments as (

    select * from {{ ref('int_customers_assigned_to_segments') }}

),

profiles as (

    select * from {{ ref('customer_profiles') }}

),

pivoted as (

    select
        customer_id,
        max(run_id) as segmentation_run_id,
        {%- for axis in axes %}
            max(case when axis_name = '{{ axis.name }}' then segment_name end) as {{ axis.name }},
            max(case when axis_name = '{{ axis.name }}' then membership_strength end)
                as {{ axis.name }}_strength{% if not loop.last %},{% endif %}
        {%- endfor %}
    from assignments
    group by customer_id

),

customer_segments as (

    select
        pivoted.customer_id,
        {%- for axis in axes %}
            cast(pivoted.{{ axis.name }} as {{ type_text() }}) as {{ axis.name }},
        {%- endfor %}
        {%- for axis in axes %}
            cast(pivoted.{{ axis.name }}_strength as {{ type_double() }}) as {{ axis.name }}_strength,
        {%- endfor %}
        {{ json_object(membership_pairs) }} as segment_memberships,
        profiles.lifetime_value,
        profiles.total_orders,
        profiles.average_order_value,
        profiles.days_since_last_purchase,
        profiles.churn_risk,
        cast(pivoted.segmentation_run_id as {{ type_text() }}) as segmentation_run_id
    from pivoted
    inner join profiles
        on pivoted.customer_id = profiles.customer_id

)

select * from customer_segments
