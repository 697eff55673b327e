"""dim_product: the product catalog, one row per (product, tier)."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from novacrm_spark.columns import MONEY
from novacrm_spark.config import Product
from novacrm_spark.frames import constant_frame
from novacrm_spark.model import model

CATALOG_SCHEMA = (
    "product_name string, product_type string, product_display_name string, "
    "plan_tier string, list_price_mrr string, feature_category string"
)


@model
def dim_product(
    stg_subscriptions: DataFrame, *, as_of_date: date, products: tuple[Product, ...]
) -> DataFrame:
    """One row per sellable (product, plan tier): the platform per tier and every add-on sold by the as-of date.

    Names, types, categories and prices come from the configured catalog, never
    from code. The platform product (product_type 'platform') gets one row per
    tier key of its list_price_mrr (always, sold or not). An add-on gets its
    row(s) (plan_tier 'all' in the standard catalog) only when at least one
    subscription to it started on or before D, whatever its status.
    Subscriptions to products missing from the catalog yield no row (there is
    no price or name to show). dim_product reads only stg_subscriptions, so
    "seen" does not check the subscribing account's signup date.
    product_key = product_name || '_' || plan_tier.

    Example: with api_access sold once before D and advanced_analytics never,
    the rows are novacrm_platform_starter/_growth/_enterprise (49/149/499)
    and api_access_all (29.00, addon, integration).
    """
    # The catalog is a handful of configured entries (not data): a small constant
    # DataFrame, built in the JVM (no Python worker for a few rows).
    rows = [
        (
            product.name,
            product.product_type,
            product.display_name,
            tier,
            # Text keeps the configured price exact until Spark casts it to money.
            repr(float(price)),
            product.feature_category,
        )
        for product in products
        for tier, price in product.list_price_mrr.items()
    ]
    catalog = constant_frame(stg_subscriptions.sparkSession, CATALOG_SCHEMA, rows)

    sold = (
        stg_subscriptions.where(F.col("start_date") <= F.lit(as_of_date))
        .select("product_name")
        .distinct()
    )
    platform = catalog.where(F.col("product_type") == "platform")
    addons = catalog.where(F.col("product_type") != "platform").join(sold, "product_name", "left_semi")

    return platform.unionByName(addons).select(
        F.concat_ws("_", "product_name", "plan_tier").alias("product_key"),
        "product_name",
        "product_type",
        "product_display_name",
        "plan_tier",
        F.col("list_price_mrr").cast(MONEY).alias("list_price_mrr"),
        "feature_category",
    )
