-- One row per axis and segment of the latest succeeded clustering run, as explained by the latest succeeded
-- insights run of that clustering run: the four actionability scores, the verdict and the explanation. Joined
-- into nothing else, so BI tools read it as it is.
with

segmentation_run as (

    select * from {{ ref('int_segmentation_runs_latest') }}

),

insight_runs as (

    select * from {{ ref('stg_ml__segment_insight_runs') }}

),

insights as (

    select * from {{ ref('stg_ml__segment_insights') }}

),

latest_insight_run as (

    select insight_runs.run_id
    from insight_runs
    inner join segmentation_run
        on insight_runs.segmentation_run_id = segmentation_run.run_id
    where insight_runs.status = 'succeeded'
    order by insight_runs.finished_at desc, insight_runs.run_id desc
    limit 1

),

explained as (

    select
        insights.axis_name,
        insights.segment_id,
        insights.segment_name,
        insights.is_clustered,
        insights.what_score,
        insights.when_score,
        insights.how_score,
        insights.who_score,
        insights.is_actionable,
        insights.actionability_reason,
        insights.executive_summary,
        insights.recommendations,
        insights.expected_roi,
        insights.expected_roi_assumption,
        insights.confidence,
        insights.confidence_reason,
        insights.is_offline,
        insights.llm_model,
        insights.run_id as insight_run_id,
        insights.segmentation_run_id
    from insights
    inner join latest_insight_run
        on insights.run_id = latest_insight_run.run_id

)

select * from explained
