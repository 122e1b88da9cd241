{#- Every row of the model is a finding; with `severity: warn` the build goes on and the findings are listed. -#}
{% test expect_no_rows(model) %}

select * from {{ model }}

{% endtest %}
