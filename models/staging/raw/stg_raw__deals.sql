with

source as (

    select * from {{ source('raw', 'deals') }}

),

renamed as (

    select
        -- ids
        trim(deal_id) as deal_id,

        -- strings
        trim(deal_name) as deal_name,
        nullif(trim(ssp), '') as ssp,
        lower(trim(format)) as deal_format,
        trim(taxonomy_tier1) as taxonomy_tier1,
        trim(taxonomy_tier2) as taxonomy_tier2,
        trim(taxonomy_tier3) as taxonomy_tier3,
        concepts,
        lower(trim(garm_risk_rating)) as garm_risk_rating,
        inferred_audiences,
        trim(demographic_hint) as demographic_hint,
        lower(trim(quality_tier)) as quality_tier,
        lower(trim(volume_tier)) as volume_tier,
        publishers,

        -- booleans
        family_safe,

        -- numerics
        floor_price

    from source

)

select * from renamed
