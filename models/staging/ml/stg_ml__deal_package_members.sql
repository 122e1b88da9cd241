with

source as (

    select * from {{ source('ml', 'deal_package_members') }}

),

renamed as (

    select
        run_id,
        package_id,
        deal_id,
        is_soft_assignment
    from source

)

select * from renamed
