with

source as (

    select * from {{ source('ml', 'product_segment_taxonomies') }}

),

renamed as (

    select
        id as taxonomy_id,
        run_id,
        segment_name,
        definition as segment_definition,
        stage,
        {{ to_utc_timestamp('created_at') }} as created_at
    from source

)

select * from renamed
