with

source as (

    select * from {{ source('ml', 'customer_clv_predictions') }}

),

renamed as (

    select
        -- ids
        run_id,
        customer_id,
        -- numerics
        cast(expected_purchases as {{ type_double() }}) as expected_purchases,
        cast(expected_spend_per_purchase as {{ type_double() }}) as expected_spend_per_purchase
    from source

)

select * from renamed
