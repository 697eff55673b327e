"""The staging layer: one cleaned, typed row per accepted source record; the rest quarantined."""

from novacrm_spark.models.staging import (  # noqa: F401 - importing registers the models
    stg_accounts,
    stg_invoices,
    stg_subscriptions,
    stg_support_tickets,
    stg_usage_events,
)
