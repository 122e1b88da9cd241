-- Every distinct user agent of the web assignments, trimmed as int_experiment_contexts reads it: what the
-- parse_user_agents job reads.
with

assignments as (

    select * from {{ ref('stg_raw__experiment_assignments') }}

),

user_agents as (

    select distinct nullif(trim({{ json_text('context', 'user_agent') }}), '') as user_agent
    from assignments
    where channel = 'web'

),

known_user_agents as (

    select * from user_agents
    where user_agent is not null

)

select * from known_user_agents
