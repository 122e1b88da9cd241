-- Fails with every segment whose explanation gives no expected ROI although segment_summary has one. The
-- explanation's ROI is null exactly when no customer of the segment has a CLV prediction (no completed order by
-- the observation end): the explicit no_orders segment always, and a clustered segment of a small warehouse or an
-- early observation end can be such a segment too.
with

insights as (

    select * from {{ ref('segment_insights') }}

),

summary as (

    select * from {{ ref('segment_summary') }}

)

select
    insights.axis_name,
    insights.segment_name,
    summary.expected_roi as summary_expected_roi
from insights
inner join summary
    on
        insights.axis_name = summary.axis_name
        and insights.segment_name = summary.segment_name
where
    insights.expected_roi is null
    and summary.expected_roi is not null
