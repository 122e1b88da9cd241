-- Fails for every raw table whose share of quarantined rows exceeds the `max_quarantined_share` var: a few bad
-- rows are quarantined and reported, a broken feed stops the build.
{%- set checked_tables = [
    'customers', 'customer_id_merges', 'orders', 'order_items', 'web_events', 'support_tickets', 'products',
] %}

with

quarantined as (

    select
        source_table,
        count(*) as quarantined_rows
    from {{ ref('quarantined_raw_rows') }}
    group by source_table

),

received as (

    {% for table in checked_tables -%}
        select
            '{{ table }}' as source_table,
            count(*) as received_rows
        from {{ ref('base_raw__' ~ table) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

shares as (

    select
        received.source_table,
        received.received_rows,
        quarantined.quarantined_rows,
        {{ safe_divide('quarantined.quarantined_rows', 'received.received_rows') }} as quarantined_share
    from received
    inner join quarantined
        on received.source_table = quarantined.source_table

)

select * from shares
where quarantined_share > {{ var('max_quarantined_share') }}
