with

source as (

    select * from {{ source('raw', 'experiment_variants') }}

),

renamed as (

    select

        ----------  ids
        {{ clean_id('experiment_id') }} as experiment_id,
        {{ clean_id('variant_id') }} as variant_id,

        ---------- strings
        trim(variant_name) as variant_name

    from source

)

select * from renamed
