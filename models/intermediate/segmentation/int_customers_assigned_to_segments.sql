-- Every customer on every axis. A customer the axis cannot place (they lack data one of its features needs) gets
-- the explicit segment of the first requirement they miss, in the order python_jobs/definitions.py gives; so do
-- the customers of an axis the run did not cluster (no_variation, too_few_to_segment). Everyone else is placed in
-- the segment whose centroid is nearest (squared Euclidean distance in the standardised space of the latest
-- succeeded run), ties going to the lowest segment id. The membership strength, 1 - nearest / second-nearest
-- distance, is 0 on a boundary between two segments and near 1 close to a centroid; it is null outside the
-- clustered segments. New customers are placed by the next dbt build; the clustering job need not run again.
-- Segment names come with the centroids from the pivoted model, so nothing here joins the definitions again.
{%- set axes = modules.segments.AXES %}
{%- set unclustered = modules.segments.UNCLUSTERED_AXIS_SEGMENTS %}
{%- set slots = range(1, modules.segments.MAX_SEGMENTS_PER_AXIS + 1) %}

with

customer_features as (

    select * from {{ ref('customer_features') }}

),

segment_model as (

    select * from {{ ref('int_segment_model_pivoted') }}

),

distances as (

    select
        customer_features.customer_id,
        segment_model.run_id,
        {%- for axis in axes %}
            case
                {%- for requirement in axis.requirements %}
                    when not customer_features.{{ requirement.flag }} then '{{ requirement.segment_name }}'
                {%- endfor %}
                {%- for status, (segment_name, _) in unclustered.items() %}
                    when segment_model.{{ axis.name }}__status = '{{ status }}' then '{{ segment_name }}'
                {%- endfor %}
            end as {{ axis.name }}__unclustered_segment,
        {%- endfor %}
        {%- for axis in axes %}
            {%- for slot in slots %}
                segment_model.{{ axis.name }}__s{{ slot }}__name,
            {%- endfor %}
        {%- endfor %}
        {%- for axis in axes %}
            {%- set last_axis = loop.last %}
            {%- for slot in slots %}
                {%- for feature in axis.features %}
                    power(
                        (customer_features.{{ feature.name }} - segment_model.{{ axis.name }}__{{ feature.name }}__mean)
                        / segment_model.{{ axis.name }}__{{ feature.name }}__scale
                        - segment_model.{{ axis.name }}__s{{ slot }}__{{ feature.name }},
                        2
                    ){% if not loop.last %} +{% endif %}
                {%- endfor %} as {{ axis.name }}__d{{ slot }}{% if not (last_axis and loop.last) %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    from customer_features
    cross join segment_model

),

-- One row per customer and axis, with that axis's distances in generic columns d1..dN.
distances_by_axis as (

    {%- for axis in axes %}

        select
            customer_id,
            run_id,
            '{{ axis.name }}' as axis_name,
            {{ axis.name }}__unclustered_segment as unclustered_segment,
            {%- for slot in slots %}
                {{ axis.name }}__s{{ slot }}__name as segment_name_{{ slot }},
            {%- endfor %}
            {%- for slot in slots %}
                {{ axis.name }}__d{{ slot }} as d{{ slot }},
            {%- endfor %}
            least(
                {%- for slot in slots %}
                    {{ axis.name }}__d{{ slot }}{% if not loop.last %},{% endif %}
                {%- endfor %}
            ) as nearest_distance
        from distances
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

nearest as (

    select
        customer_id,
        run_id,
        axis_name,
        unclustered_segment,
        nearest_distance,
        {%- for slot in slots %}
            d{{ slot }},
        {%- endfor %}
        case
            {%- for slot in slots %}
                when unclustered_segment is null and d{{ slot }} = nearest_distance then {{ slot }}
            {%- endfor %}
        end as segment_id,
        coalesce(
            unclustered_segment,
            case
                {%- for slot in slots %}
                    when d{{ slot }} = nearest_distance then segment_name_{{ slot }}
                {%- endfor %}
            end
        ) as segment_name
    from distances_by_axis

),

second_nearest as (

    select
        customer_id,
        run_id,
        axis_name,
        segment_id,
        segment_name,
        unclustered_segment is null as is_clustered,
        nearest_distance,
        least(
            {%- for slot in slots %}
                case when segment_id != {{ slot }} then d{{ slot }} end{% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as second_nearest_distance
    from nearest

),

assigned as (

    select
        customer_id,
        axis_name,
        segment_id,
        segment_name,
        is_clustered,
        run_id,
        case when is_clustered then nearest_distance end as nearest_distance,
        case when is_clustered then second_nearest_distance end as second_nearest_distance,
        case
            when not is_clustered then null
            when second_nearest_distance > 0
                then 1 - nearest_distance / second_nearest_distance
            else 0
        end as membership_strength
    from second_nearest

)

select * from assigned
