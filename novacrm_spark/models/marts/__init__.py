"""The marts layer: one module per table; importing this package registers them."""

from novacrm_spark.models.marts import (  # noqa: F401 - importing registers the models
    churn_risk_view,
    customer_health_scores,
    nrr_summary,
    revenue_cohort_analysis,
    sla_adherence,
)
