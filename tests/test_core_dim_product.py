"""dim_product: catalog rows from configuration, add-ons only when sold by the as-of date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from novacrm_spark.config import Product
from novacrm_spark.models.core.dim_product import dim_product

from table_schemas import DIM_PRODUCT as OUT_DDL, STG_SUBSCRIPTIONS as SUBSCRIPTIONS_DDL

LOADED = dt.datetime(2025, 2, 1, 6, 0, 0)
AS_OF = dt.date(2024, 6, 30)

EXPECTED_SCHEMA = [
    ("product_key", "string"), ("product_name", "string"), ("product_type", "string"),
    ("product_display_name", "string"), ("plan_tier", "string"), ("list_price_mrr", "decimal(18,2)"),
    ("feature_category", "string"),
]

# The catalog as novacrm_spark/products.yaml (the packaged one) configures it.
STANDARD = (
    Product("novacrm_platform", "NovaCRM Platform", "platform", "core",
            {"starter": 49.0, "growth": 149.0, "enterprise": 499.0}),
    Product("api_access", "API Access", "addon", "integration", {"all": 29.0}),
    Product("advanced_analytics", "Advanced Analytics", "addon", "analytics", {"all": 79.0}),
    Product("priority_support", "Priority Support", "addon", "support", {"all": 59.0}),
)


def subscription(sub_id, product, start, status="active"):
    return (sub_id, "a1", product, "growth", Decimal("10.00"), start, None, status, status == "active", None, LOADED)


def run(spark, subscriptions, products=STANDARD):
    return dim_product(spark.createDataFrame(subscriptions, SUBSCRIPTIONS_DDL), as_of_date=AS_OF, products=products)


def test_output_schema(spark):
    out = run(spark, [])
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == EXPECTED_SCHEMA


def test_platform_tiers_always_and_addons_sold_by_d_any_status(spark):
    subscriptions = [
        subscription("s1", "novacrm_platform", dt.date(2024, 1, 1)),
        subscription("s2", "api_access", AS_OF, "cancelled"),  # started on D, cancelled: still seen
        subscription("s3", "priority_support", dt.date(2024, 7, 1)),  # started after D: not yet sold
        subscription("s4", "mystery_addon", dt.date(2024, 1, 1)),  # not in the catalog: no row
    ]
    expected = spark.createDataFrame(
        [
            ("novacrm_platform_starter", "novacrm_platform", "platform", "NovaCRM Platform", "starter",
             Decimal("49.00"), "core"),
            ("novacrm_platform_growth", "novacrm_platform", "platform", "NovaCRM Platform", "growth",
             Decimal("149.00"), "core"),
            ("novacrm_platform_enterprise", "novacrm_platform", "platform", "NovaCRM Platform", "enterprise",
             Decimal("499.00"), "core"),
            ("api_access_all", "api_access", "addon", "API Access", "all", Decimal("29.00"), "integration"),
        ],
        OUT_DDL,
    )
    assert_df_equality(run(spark, subscriptions), expected, ignore_row_order=True, ignore_nullable=True)


def test_no_subscriptions_still_lists_platform_tiers(spark):
    out = run(spark, []).select("product_key", "list_price_mrr")
    expected = spark.createDataFrame(
        [("novacrm_platform_starter", Decimal("49.00")), ("novacrm_platform_growth", Decimal("149.00")),
         ("novacrm_platform_enterprise", Decimal("499.00"))],
        "product_key string, list_price_mrr decimal(18,2)",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_names_tiers_and_prices_come_from_configuration(spark):
    catalog = (
        Product("novacrm_platform", "Nova Suite", "platform", "core", {"basic": 10.5, "pro": 99.99}),
        Product("sms_pack", "SMS Pack", "addon", "communication", {"all": 5.0}),
        Product("api_access", "API Access", "addon", "integration", {"all": 29.0}),
    )
    subscriptions = [subscription("s1", "sms_pack", dt.date(2024, 2, 1), "trial")]
    expected = spark.createDataFrame(
        [
            ("novacrm_platform_basic", "novacrm_platform", "platform", "Nova Suite", "basic", Decimal("10.50"), "core"),
            ("novacrm_platform_pro", "novacrm_platform", "platform", "Nova Suite", "pro", Decimal("99.99"), "core"),
            ("sms_pack_all", "sms_pack", "addon", "SMS Pack", "all", Decimal("5.00"), "communication"),
        ],
        OUT_DDL,
    )
    assert_df_equality(run(spark, subscriptions, catalog), expected, ignore_row_order=True, ignore_nullable=True)
