-- One uniform context per assignment, whatever the channel: where the visitor came from, on what, and when (in
-- the experiment's own time zone), plus the channel's own fields, typed. The field lists come from
-- python_jobs/experiments/definitions.py through dbt-py.
{%- set experiments = modules.experiments %}
{%- set days = experiments.DAYS_OF_WEEK %}

with

assignments as (

    select * from {{ ref('stg_raw__experiment_assignments') }}

),

experiments as (

    select * from {{ ref('stg_raw__experiments') }}

),

user_agent_lookup as (

    select * from {{ ref('stg_ml__user_agent_lookup') }}

),

-- Visitors share their sources and devices, so far fewer contexts than assignments: everything that depends only
-- on the context is worked out once per distinct (channel, context), then joined back to the assignments.
distinct_contexts as (

    select distinct
        channel,
        context
    from assignments

),

-- Each channel's fields, read only from its own channel's contexts: a stray key of another channel is ignored.
channel_fields as (

    select
        channel,
        context,
        {%- for channel, fields in experiments.CHANNEL_FIELDS.items() %}
            {%- for field in fields %}
                {%- if field in experiments.DOUBLE_CONTEXT_FIELDS %}
                    case
                        when channel = '{{ channel }}' then {{ json_number('context', field) }}
                    end as {{ field }},
                {%- elif field in experiments.INTEGER_CONTEXT_FIELDS %}
                    case
                        when channel = '{{ channel }}' then {{ json_integer('context', field) }}
                    end as {{ field }},
                {%- else %}
                    case
                        when channel = '{{ channel }}' then nullif(trim({{ json_text('context', field) }}), '')
                    end as {{ field }},
                {%- endif %}
            {%- endfor %}
        {%- endfor %}
        -- `channel` is null when the raw row had none: a join key that matches itself
        coalesce(channel, '') as channel_key
    from distinct_contexts

),

-- The host a web visitor was referred from, without scheme, port, path or a leading `www.`.
referrers as (

    select
        *,
        nullif(
            regexp_replace(
                lower(
                    split_part(
                        split_part(
                            split_part(
                                split_part(regexp_replace(referrer, '^[a-zA-Z][a-zA-Z0-9+.-]*://', ''), '/', 1),
                                '?',
                                1
                            ),
                            '#',
                            1
                        ),
                        ':',
                        1
                    )
                ),
                '^www[.]',
                ''
            ),
            ''
        ) as referrer_host
    from channel_fields

),

-- Where from and on what, per distinct context.
context_fields as (

    select
        referrers.channel_key,
        referrers.context,

        ---------- where from (`source` is an SQL keyword, but the name marketers use)
        case
            when referrers.channel != 'web' then referrers.channel
            when referrers.utm_source is not null then lower(referrers.utm_source)
            when referrers.referrer_host is not null then referrers.referrer_host
            else 'direct'
        end as source,  -- noqa: RF04
        case
            when referrers.channel != 'web' then referrers.channel
            when referrers.utm_medium is not null then lower(referrers.utm_medium)
            when referrers.referrer_host is not null then 'referral'
            else 'none'
        end as medium,

        ---------- on what
        case
            when referrers.channel = 'web' then coalesce(user_agent_lookup.device, 'unknown')
            when referrers.channel = 'push' and lower(referrers.platform) in ('ios', 'android') then 'mobile'
            else 'unknown'
        end as device,
        case
            when referrers.channel = 'web' then user_agent_lookup.os
            when referrers.channel = 'push' and lower(referrers.platform) = 'ios' then 'iOS'
            when referrers.channel = 'push' and lower(referrers.platform) = 'android' then 'Android'
            when referrers.channel = 'push' then referrers.platform
        end as os,
        case when referrers.channel = 'web' then user_agent_lookup.browser end as browser,
        upper(referrers.country_code) as country,

        ---------- the channel's own fields
        {%- for fields in experiments.CHANNEL_FIELDS.values() %}
            {%- for field in fields %}
                referrers.{{ field }}{% if not loop.last %},{% endif %}
            {%- endfor %}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from referrers
    left join user_agent_lookup
        on referrers.user_agent = user_agent_lookup.user_agent

),

assignments_local as (

    select
        assignments.experiment_id,
        assignments.visitor_id,
        assignments.variant_id,
        assignments.channel,
        assignments.context,
        assignments.assigned_at,
        {{ to_local_timestamp('assignments.assigned_at', 'experiments.time_zone') }} as assigned_at_local
    from assignments
    inner join experiments
        on assignments.experiment_id = experiments.experiment_id

),

contexts as (

    select
        assignments_local.experiment_id,
        assignments_local.visitor_id,
        assignments_local.variant_id,
        assignments_local.channel,

        ---------- where from and on what
        context_fields.source,  -- noqa: RF04
        context_fields.medium,
        context_fields.device,
        context_fields.os,
        context_fields.browser,
        context_fields.country,

        ---------- when, in the experiment's time zone (`hour` is an SQL keyword, but the name marketers use)
        assignments_local.assigned_at,
        cast(assignments_local.assigned_at_local as date) as assigned_on,
        cast(extract(hour from assignments_local.assigned_at_local) as integer) as hour,  -- noqa: RF04
        case cast({{ iso_day_of_week("assignments_local.assigned_at_local") }} as integer)
            {%- for day in days %}
                when {{ loop.index }} then '{{ day }}'
            {%- endfor %}
        end as day_of_week,
        cast({{ iso_day_of_week("assignments_local.assigned_at_local") }} as integer) >= 6 as is_weekend,

        ---------- the channel's own fields
        {%- for fields in experiments.CHANNEL_FIELDS.values() %}
            {%- for field in fields %}
                context_fields.{{ field }},
            {%- endfor %}
        {%- endfor %}
        assignments_local.context as raw_context

    from assignments_local
    inner join context_fields
        on
            coalesce(assignments_local.channel, '') = context_fields.channel_key
            and assignments_local.context = context_fields.context

)

select * from contexts
