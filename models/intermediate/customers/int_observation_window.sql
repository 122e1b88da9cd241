-- The one date every profile is computed as of: the `observation_end` var when set, otherwise the last order
-- date in the data, capped at the load time (the `loaded_at` var, else the build's wall clock: see load_time())
-- so it never lies in the future. Orders dated after the load time are quarantined in staging, so the cap only
-- bites on a clock set wrong; a rebuild of the same data gives the same profiles.
with

orders as (

    select * from {{ ref('stg_raw__orders') }}

),

last_order as (

    select max(cast(ordered_at as date)) as last_order_date
    from orders

),

observation_window as (

    select
        {% if var('observation_end') -%}
            cast('{{ var("observation_end") }}' as date)
        {%- else -%}
            least(last_order_date, cast({{ load_time() }} as date))
        {%- endif %} as observation_end
    from last_order

)

select * from observation_window
