-- Raw rows that staging could not use, with the reason: nothing is dropped silently.
{%- set checked_tables = [
    ('customers', 'customer_id'),
    ('customer_id_merges', 'merge_id'),
    ('orders', 'order_id'),
    ('order_items', 'order_item_id'),
    ('web_events', 'event_id'),
    ('support_tickets', 'ticket_id'),
    ('products', 'product_id'),
] %}

with

{% for table, key in checked_tables -%}
    {{ table }} as (

        select
            '{{ table }}' as source_table,
            cast({{ key }} as {{ type_text() }}) as source_row_id,
            quarantine_reason
        from {{ ref('base_raw__' ~ table) }}
        where quarantine_reason is not null

    ),

{% endfor -%}

quarantined as (

    {% for table, _ in checked_tables -%}
        select * from {{ table }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from quarantined
