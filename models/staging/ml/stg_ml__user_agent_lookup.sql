with

source as (

    select * from {{ source('ml', 'user_agent_lookup') }}

),

renamed as (

    select

        ----------  ids
        user_agent,
        run_id,

        ---------- strings
        device,
        os,
        browser,
        parser,

        ---------- timestamps
        {{ to_utc_timestamp('parsed_at') }} as parsed_at

    from source

)

select * from renamed
