"""Accepted values of every code column (the spec's "Domains")."""

from novacrm_spark.columns import EVENT_CATEGORIES, SLA_TARGET_HOURS

PLAN_TIERS = ("starter", "growth", "enterprise")
REGIONS = ("north_america", "europe", "apac", "latam")
ACCOUNT_STATUSES = ("active", "churned", "trial", "suspended")
PRODUCTS = ("novacrm_platform", "api_access", "advanced_analytics", "priority_support")
SUBSCRIPTION_STATUSES = ("active", "cancelled", "upgraded", "trial")
INVOICE_STATUSES = ("paid", "overdue", "void")
CURRENCIES = ("USD",)
TICKET_PRIORITIES = tuple(SLA_TARGET_HOURS)
TICKET_CATEGORIES = ("bug", "feature_request", "billing", "onboarding", "how_to", "performance")
TICKET_STATUSES = ("open", "resolved", "escalated")
OPEN_TICKET_STATUSES = ("open", "escalated")
EVENT_NAMES = tuple(name for names in EVENT_CATEGORIES.values() for name in names)
EVENT_CATEGORY_NAMES = (*EVENT_CATEGORIES, "other")
