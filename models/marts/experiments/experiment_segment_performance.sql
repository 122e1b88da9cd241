-- How each variant does in each segment of each experiment, and the share of new visitors it gets now.
-- Counts, rates and weights only: the posterior parameters stay in `ml`.
{%- set z = 1.96 %}

with

daily_counts as (

    select * from {{ ref('int_experiment_segment_counts') }}

),

weight_runs as (

    select * from {{ ref('stg_ml__experiment_weight_runs') }}

),

weights as (

    select * from {{ ref('stg_ml__experiment_weights') }}

),

posteriors as (

    select * from {{ ref('stg_ml__experiment_posteriors') }}

),

counts as (

    select
        experiment_id,
        segment_key,
        variant_id,
        sum(assignments) as assignments,
        sum(conversions) as conversions
    from daily_counts
    group by experiment_id, segment_key, variant_id

),

experiment_rates as (

    select
        experiment_id,
        cast(sum(conversions) as {{ type_double() }}) / nullif(sum(assignments), 0) as experiment_conversion_rate
    from counts
    group by experiment_id

),

latest_runs as (

    select
        run_id,
        experiment_id,
        computed_at
    from (
        select
            run_id,
            experiment_id,
            computed_at,
            row_number() over (partition by experiment_id order by computed_at desc, run_id desc) as recency
        from weight_runs
    ) as ranked
    where recency = 1

),

-- The weight and probability of being best of each segment and variant in the latest run; a segment the run
-- did not know (new since) takes the experiment-wide row, as the allocator does.
latest_weights as (

    select
        latest_runs.experiment_id,
        latest_runs.computed_at,
        weights.segment_key,
        weights.variant_id,
        weights.weight,
        posteriors.probability_best
    from latest_runs
    inner join weights
        on latest_runs.run_id = weights.run_id
    inner join posteriors
        on
            weights.run_id = posteriors.run_id
            and weights.segment_key = posteriors.segment_key
            and weights.variant_id = posteriors.variant_id

),

rated as (

    select
        counts.experiment_id,
        counts.segment_key,
        counts.variant_id,
        counts.assignments,
        counts.conversions,
        cast(nullif(counts.assignments, 0) as {{ type_double() }}) as sample_size,
        experiment_rates.experiment_conversion_rate,
        cast(counts.conversions as {{ type_double() }}) / nullif(counts.assignments, 0) as conversion_rate,
        coalesce(own_weights.weight, experiment_weights.weight) as current_weight,
        coalesce(own_weights.probability_best, experiment_weights.probability_best) as probability_best,
        own_weights.weight is null and experiment_weights.weight is not null as uses_experiment_weights,
        coalesce(own_weights.computed_at, experiment_weights.computed_at) as weights_computed_at
    from counts
    inner join experiment_rates
        on counts.experiment_id = experiment_rates.experiment_id
    left join latest_weights as own_weights
        on
            counts.experiment_id = own_weights.experiment_id
            and counts.segment_key = own_weights.segment_key
            and counts.variant_id = own_weights.variant_id
    left join latest_weights as experiment_weights
        on
            counts.experiment_id = experiment_weights.experiment_id
            and counts.variant_id = experiment_weights.variant_id
            and experiment_weights.segment_key = '{{ modules.experiments.POOLED_SEGMENT_KEY }}'

),

-- Wilson's 95% interval: stays inside [0, 1] and honest for small counts and rates near 0.
with_intervals as (

    select
        *,
        (
            conversion_rate + {{ z * z }} / (2.0 * sample_size)
            - {{ z }} * sqrt(
                conversion_rate * (1 - conversion_rate) / sample_size + {{ z * z }} / (4.0 * sample_size * sample_size)
            )
        ) / (1 + {{ z * z }} / sample_size) as conversion_rate_lower_95,
        (
            conversion_rate + {{ z * z }} / (2.0 * sample_size)
            + {{ z }} * sqrt(
                conversion_rate * (1 - conversion_rate) / sample_size + {{ z * z }} / (4.0 * sample_size * sample_size)
            )
        ) / (1 + {{ z * z }} / sample_size) as conversion_rate_upper_95
    from rated

),

performance as (

    select
        cast(experiment_id as {{ type_text() }}) as experiment_id,
        cast(segment_key as {{ type_text() }}) as segment_key,
        cast(variant_id as {{ type_text() }}) as variant_id,
        cast(assignments as bigint) as assignments,
        cast(conversions as bigint) as conversions,
        cast(conversion_rate as {{ type_double() }}) as conversion_rate,
        cast(greatest(conversion_rate_lower_95, 0) as {{ type_double() }}) as conversion_rate_lower_95,
        cast(least(conversion_rate_upper_95, 1) as {{ type_double() }}) as conversion_rate_upper_95,
        cast(experiment_conversion_rate as {{ type_double() }}) as experiment_conversion_rate,
        cast(conversion_rate / nullif(experiment_conversion_rate, 0) - 1 as {{ type_double() }})
            as lift_vs_experiment,
        cast(probability_best as {{ type_double() }}) as probability_best,
        cast(current_weight as {{ type_double() }}) as current_weight,
        uses_experiment_weights,
        cast(weights_computed_at as timestamp) as weights_computed_at
    from with_intervals

)

select * from performance
