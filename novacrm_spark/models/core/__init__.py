"""The core layer: one module per table; importing this package registers them."""

from novacrm_spark.models.core import (  # noqa: F401 - imported to register the models
    dim_account,
    dim_date,
    dim_product,
    fct_revenue,
    fct_tickets,
    fct_usage,
)
