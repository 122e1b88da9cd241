-- A feature is NULL exactly when the customer lacks data it needs (python_jobs/definitions.py): never a
-- stand-in number for missing data, and never missing when its data is there.
{%- set features = modules.segments.FEATURES %}

with

customer_features as (

    select * from {{ ref('customer_features') }}

),

mismatches as (

    {%- for feature in features %}
        select
            customer_id,
            '{{ feature.name }}' as feature_name,
            {{ feature.name }} is null as is_null
        from customer_features
        where
            ({{ feature.name }} is null)
            = (
                {%- if feature.requires %}
                    {%- for requirement in feature.requires %}
                        {{ requirement.flag }}{% if not loop.last %} and {% endif %}
                    {%- endfor %}
                {%- else %}
                    true
                {%- endif %}
            )
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from mismatches
