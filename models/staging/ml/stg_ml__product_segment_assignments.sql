with

source as (

    select * from {{ source('ml', 'product_segment_assignments') }}

),

renamed as (

    select
        run_id,
        product_id,
        taxonomy_id_initial,
        taxonomy_id_refined
    from source

)

select * from renamed
