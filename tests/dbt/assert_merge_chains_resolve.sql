-- Names every merged-away account whose chain loops or is deeper than `max_merge_chain_depth`. A warning by
-- default: such accounts still get a deterministic canonical id, but someone should clean up the merges.
{{ config(severity=var('merge_anomaly_severity', 'warn')) }}

select
    customer_id,
    canonical_customer_id,
    chain_depth,
    resolution_status
from {{ ref('int_customer_merges_resolved') }}
where resolution_status != 'resolved'
