"""Accepted values of every code column (the spec's "Domains"), stated once.

Staging validates against them, and the contracts name them: a check
``accepted_values: {domain: plan_tiers}`` in a model's YAML accepts
:data:`PLAN_TIERS` (the domain's name is the constant's, in lower case).

Example::

    >>> from novacrm_spark import domains
    >>> domains.PLAN_TIERS
    ('starter', 'growth', 'enterprise')
"""

from novacrm_spark.columns import EVENT_CATEGORIES, SLA_TARGET_HOURS

# Source codes (staging rejects a row outside them).
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
SLA_TARGETS = tuple(SLA_TARGET_HOURS.values())

# Codes the models derive.
ACCOUNT_SEGMENTS = ("enterprise", "mid_market", "smb")
LIFECYCLE_STAGES = ("trial", "churned", "onboarding", "growing", "mature")
REVENUE_MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "flat", "churn")
PRODUCT_TYPES = ("platform", "addon")
CATALOG_PLAN_TIERS = (*PLAN_TIERS, "all")  # an add-on is priced once, for every tier
RESOLUTION_SPEEDS = ("fast", "on_time", "slow", "critical_breach", "unresolved")
CSAT_TIERS = ("satisfied", "neutral", "dissatisfied", "no_rating")
HEALTH_TIERS = ("champion", "healthy", "neutral", "at_risk", "critical")
QUARTILE_SCORES = (0, 25, 50, 75, 100)
RISK_LEVELS = ("critical", "high", "medium", "low")
SLA_DIMENSIONS = ("priority", "segment")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
