-- Every distinct user agent of the web assignments, trimmed as int_experiment_contexts reads it: what the
-- parse_user_agents job reads.
with

assignments as (

    select * from {{ ref('stg_raw__experiment_assignments') }}

),

-- Visitors share their contexts: each distinct one is parsed once, not once per assignment.
web_contexts as (

    select distinct context
    from assignments
    where channel = 'web'

),

user_agents as (

    select distinct nullif(trim({{ json_text('context', 'user_agent') }}), '') as user_agent
    from web_contexts

),

known_user_agents as (

    select * from user_agents
    where user_agent is not null

)

select * from known_user_agents
