"""The schema of every pipeline table, as Spark DDL, for building test inputs and expectations.

Built from the contracts (each table's columns are stated once, in its model's
YAML), as the model computes the table: without the partition column the
runner adds to a month-partitioned table. The contract test checks the models
against the contracts.

Example::

    >>> spark.createDataFrame([("ACC-1", "Acme", ...)], STG_ACCOUNTS)
"""

from novacrm_spark import incremental as inc
from novacrm_spark.quality.contracts import default_contracts


def model_schema(name: str) -> str:
    """The DDL of the table model ``name`` returns: ``"`account_id` string, ..."``."""
    leave_out = (inc.PARTITION_COLUMN,) if name in inc.PARTITIONED_TABLES else ()
    return default_contracts().for_model(name).ddl(leave_out)


CHURN_RISK_VIEW = model_schema("churn_risk_view")
CUSTOMER_HEALTH_SCORES = model_schema("customer_health_scores")
DIM_ACCOUNT = model_schema("dim_account")
DIM_DATE = model_schema("dim_date")
DIM_PRODUCT = model_schema("dim_product")
FCT_REVENUE = model_schema("fct_revenue")
FCT_TICKETS = model_schema("fct_tickets")
FCT_USAGE = model_schema("fct_usage")
NRR_SUMMARY = model_schema("nrr_summary")
REVENUE_COHORT_ANALYSIS = model_schema("revenue_cohort_analysis")
SLA_ADHERENCE = model_schema("sla_adherence")
STG_ACCOUNTS = model_schema("stg_accounts")
STG_INVOICES = model_schema("stg_invoices")
STG_SUBSCRIPTIONS = model_schema("stg_subscriptions")
STG_SUPPORT_TICKETS = model_schema("stg_support_tickets")
STG_USAGE_EVENTS = model_schema("stg_usage_events")
