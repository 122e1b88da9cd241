with

source as (

    select * from {{ source('ml', 'experiment_recommendation_decisions') }}

),

renamed as (

    select

        ----------  ids
        recommendation_id,

        ---------- strings
        decision,
        decided_by,

        ---------- timestamps
        {{ to_utc_timestamp('decided_at') }} as decided_at

    from source

)

select * from renamed
