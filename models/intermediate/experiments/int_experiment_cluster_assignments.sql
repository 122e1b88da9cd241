-- Every visitor of an experiment with a clustering model, assigned to the nearest centroid of its latest model:
-- the contexts encoded from the model's feature rows, squared distance as |x|^2 - 2 x.c + |c|^2.
{%- set experiments = modules.experiments %}

with

outcomes as (

    select * from {{ ref('int_experiment_assignment_outcomes') }}

),

models as (

    select * from {{ ref('stg_ml__experiment_cluster_models') }}

),

features as (

    select * from {{ ref('stg_ml__experiment_cluster_features') }}

),

centroids as (

    select * from {{ ref('stg_ml__experiment_cluster_centroids') }}

),

clusters as (

    select * from {{ ref('stg_ml__experiment_clusters') }}

),

latest_models as (

    select
        experiment_id,
        model_version
    from (
        select
            experiment_id,
            model_version,
            row_number() over (partition by experiment_id order by trained_at desc) as recency_rank
        from models
    ) as ranked
    where recency_rank = 1

),

model_features as (

    select
        latest_models.experiment_id,
        features.model_version,
        features.feature_index,
        features.field,
        features.encoding,
        features.field_value,
        features.center,
        features.scale
    from features
    inner join latest_models
        on features.model_version = latest_models.model_version

),

-- Only the non-zero coordinates: the one-hot values the visitor has, and the scaled numeric fields.
encoded as (

    select
        outcomes.experiment_id,
        outcomes.visitor_id,
        model_features.model_version,
        model_features.feature_index,
        case
            when model_features.encoding = 'one_hot' then 1.0
            else coalesce(
                (
                    case model_features.field
                        {%- for field in experiments.CLUSTER_NUMERIC_FIELDS %}
                            when '{{ field }}' then cast(outcomes.{{ field }} as {{ type_double() }})
                        {%- endfor %}
                    end - model_features.center
                ) / model_features.scale,
                0.0
            )
        end as encoded_value
    from outcomes
    inner join model_features
        on outcomes.experiment_id = model_features.experiment_id
    where
        model_features.encoding = 'scaled'
        or model_features.field_value = case model_features.field
            {%- for field in experiments.CLUSTER_CATEGORICAL_FIELDS %}
                when '{{ field }}' then coalesce(
                    nullif(lower(trim(cast(outcomes.{{ field }} as {{ type_text() }}))), ''),
                    '{{ experiments.MISSING_SEGMENT_VALUE }}'
                )
            {%- endfor %}
        end

),

visitor_norms as (

    select
        experiment_id,
        visitor_id,
        sum(encoded_value * encoded_value) as squared_norm
    from encoded
    group by experiment_id, visitor_id

),

dot_products as (

    select
        encoded.experiment_id,
        encoded.visitor_id,
        centroids.cluster_id,
        sum(encoded.encoded_value * centroids.centroid_value) as dot_product
    from encoded
    inner join centroids
        on
            encoded.model_version = centroids.model_version
            and encoded.feature_index = centroids.feature_index
    group by encoded.experiment_id, encoded.visitor_id, centroids.cluster_id

),

centroid_norms as (

    select
        centroids.model_version,
        centroids.cluster_id,
        sum(centroids.centroid_value * centroids.centroid_value) as squared_norm
    from centroids
    inner join latest_models
        on centroids.model_version = latest_models.model_version
    group by centroids.model_version, centroids.cluster_id

),

distances as (

    select
        outcomes.experiment_id,
        outcomes.visitor_id,
        latest_models.model_version,
        centroid_norms.cluster_id,
        round(
            cast(
                coalesce(visitor_norms.squared_norm, 0)
                - 2 * coalesce(dot_products.dot_product, 0)
                + centroid_norms.squared_norm as numeric(38, 12)
            ),
            {{ experiments.CLUSTER_DISTANCE_DECIMALS }}
        ) as squared_distance
    from outcomes
    inner join latest_models
        on outcomes.experiment_id = latest_models.experiment_id
    inner join centroid_norms
        on latest_models.model_version = centroid_norms.model_version
    left join visitor_norms
        on
            outcomes.experiment_id = visitor_norms.experiment_id
            and outcomes.visitor_id = visitor_norms.visitor_id
    left join dot_products
        on
            outcomes.experiment_id = dot_products.experiment_id
            and outcomes.visitor_id = dot_products.visitor_id
            and centroid_norms.cluster_id = dot_products.cluster_id

),

nearest as (

    select
        *,
        row_number() over (
            partition by experiment_id, visitor_id order by squared_distance, cluster_id
        ) as distance_rank
    from distances

),

cluster_assignments as (

    select
        nearest.experiment_id,
        nearest.visitor_id,
        nearest.model_version,
        nearest.cluster_id,
        clusters.cluster_description,
        cast(nearest.squared_distance as {{ type_double() }}) as squared_distance
    from nearest
    inner join clusters
        on
            nearest.model_version = clusters.model_version
            and nearest.cluster_id = clusters.cluster_id
    where nearest.distance_rank = 1

)

select * from cluster_assignments
