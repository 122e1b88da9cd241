with

source as (

    select * from {{ source('ml', 'product_segment_assignments') }}

),

renamed as (

    select
        run_id,
        -- Text; tables written before product ids were text hold bigint until the next run converts them.
        cast(product_id as {{ type_text() }}) as product_id,
        taxonomy_id_initial,
        taxonomy_id_refined
    from source

)

select * from renamed
