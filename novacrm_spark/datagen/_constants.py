"""Domains, prices and rates of the synthetic NovaCRM world (no logic here).

Every weight table is a tuple of ``(code, weight)`` pairs in a fixed order, so
that draws are reproducible; :func:`codes_and_probs` splits one into the two
arrays ``numpy.random.Generator.choice`` wants.

>>> codes, probs = codes_and_probs(TIER_WEIGHTS)
>>> codes, round(float(probs.sum()), 6)
(('starter', 'growth', 'enterprise'), 1.0)
"""

from __future__ import annotations

import numpy as np

# --- accounts ---------------------------------------------------------------
TIERS = ("starter", "growth", "enterprise")
TIER_WEIGHTS = (("starter", 0.45), ("growth", 0.35), ("enterprise", 0.20))
NEXT_TIER = {"starter": "growth", "growth": "enterprise"}
PLATFORM_PRICE = {"starter": 49, "growth": 149, "enterprise": 499}
EMPLOYEES = {"starter": (5, 100), "growth": (30, 500), "enterprise": (200, 5000)}

REGION_WEIGHTS = (("north_america", 0.40), ("europe", 0.30), ("apac", 0.20), ("latam", 0.10))
INDUSTRY_WEIGHTS = (
    ("technology", 0.18),
    ("professional_services", 0.13),
    ("finance", 0.11),
    ("healthcare", 0.10),
    ("retail", 0.10),
    ("manufacturing", 0.09),
    ("education", 0.08),
    ("media", 0.07),
    ("real_estate", 0.07),
    ("logistics", 0.07),
)
N_OWNERS = 6

RECENT_SHARE = 0.03  # accounts that signed up in the last 30 days
RECENT_DAYS = 30
RECENT_TRIAL_SHARE = 0.70  # of the recent ones; the rest converted at once (active)
QUIET_DAYS = 60  # the regular signup window ends this many days before as_of
CHURN_RATE = {"starter": 0.30, "growth": 0.20, "enterprise": 0.08}
SUSPENDED_RATE = 0.02
CHURN_AFTER_DAYS = (60, 548)  # 2-18 months after signup
SUSPENDED_DAYS_AGO = (7, 45)
UPGRADE_RATE = 0.15
UPGRADE_AFTER_DAYS = (90, 365)  # 3-12 months after signup
TRIAL_DAYS = 14

# --- subscriptions / invoices ----------------------------------------------
PLATFORM = "novacrm_platform"
PRODUCTS = (PLATFORM, "api_access", "advanced_analytics", "priority_support")
ADDONS = (("api_access", 29, 0.25), ("advanced_analytics", 79, 0.15), ("priority_support", 59, 0.20))
ENTERPRISE_ADDON_BOOST = 1.5
ADDON_START_DAYS = (15, 180)
ADDON_CANCEL_RATE = 0.20
ADDON_CANCEL_AFTER_DAYS = (30, 300)
TIME_PART_RATE = 0.04  # subscription dates written as 2024-06-04T00:00:00

INVOICE_OVERDUE_RATE = 0.08
CHURNED_TAIL_STATUS = (("paid", 0.5), ("overdue", 0.3), ("void", 0.2))
CHURNED_TAIL = 3
SUSPENDED_OVERDUE_DAYS = 31  # invoices this close to the suspension are overdue
BILLING_GAP_RATE = 0.03
CURRENCY = "USD"

# --- usage events -----------------------------------------------------------
EVENT_CATEGORIES = (
    ("reporting", ("dashboard_viewed", "report_created", "export_generated")),
    ("crm_core", ("contact_added", "deal_updated", "note_added")),
    ("communication", ("email_sent", "meeting_logged", "task_completed")),
    ("advanced", ("api_call", "integration_configured", "workflow_created")),
    ("platform", ("search_performed", "filter_applied", "user_invited")),
)
EVENT_NAMES = tuple(name for _, names in EVENT_CATEGORIES for name in names)
# weights in EVENT_NAMES order
EVENT_MIX = {
    "starter": (14, 5, 3, 14, 12, 10, 12, 6, 9, 1.0, 0.3, 0.5, 8, 5, 0.8),
    "growth": (13, 7, 4, 12, 12, 9, 10, 6, 8, 4.0, 1.0, 2.5, 7, 5, 1.0),
    "enterprise": (11, 8, 5, 9, 10, 7, 8, 5, 6, 18.0, 3.5, 7.0, 6, 5, 1.2),
}
USERS = {"starter": (1, 3), "growth": (2, 5), "enterprise": (3, 10)}
DAILY_EVENTS = {"starter": (1, 8), "growth": (4, 15), "enterprise": (8, 25)}
# "About two active days a week", scaled down so 150 accounts give ~15k events
# (see the package docstring); weekends are quieter.
ACTIVE_DAY_RATE = 0.035
WEEKEND_FACTOR = 0.35
ENGAGEMENT_SHAPE = 2.0  # per-account activity multiplier ~ Gamma(2, 1/2), mean 1
CHURN_DECLINE_DAYS = 120
CHURN_DECLINE_FLOOR = 0.15
EVENT_FRACTION_RATE = 0.05  # timestamps written with microseconds
# hour-of-day weights, mostly 8-18h
HOUR_WEIGHTS = (
    0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 1.0, 2.5, 6.0, 9.0, 10.0, 10.0,
    8.0, 9.0, 10.0, 9.5, 8.5, 6.5, 3.5, 2.0, 1.5, 1.0, 0.6, 0.3,
)
EVENT_PROPERTIES = {
    "api_call": tuple(
        f'{{"endpoint": "/v1/{ep}", "status": {st}}}'
        for ep in ("contacts", "deals", "activities", "reports")
        for st in (200, 200, 200, 201, 429, 500)
    ),
    "export_generated": ('{"format": "csv"}', '{"format": "csv"}', '{"format": "xlsx"}', '{"format": "pdf"}'),
    "report_created": ('{"report_type": "pipeline"}', '{"report_type": "forecast"}', '{"report_type": "activity"}'),
    "integration_configured": tuple(
        f'{{"integration": "{i}"}}' for i in ("salesforce", "slack", "gmail", "hubspot", "zapier")
    ),
    "search_performed": tuple(f'{{"results": {n}}}' for n in (0, 3, 7, 12, 25, 48, 100)),
    "workflow_created": ('{"trigger": "deal_stage"}', '{"trigger": "form_submit"}', '{"trigger": "schedule"}'),
}

# --- support tickets -------------------------------------------------------
PRIORITY_WEIGHTS = (("p1", 0.05), ("p2", 0.15), ("p3", 0.45), ("p4", 0.35))
SLA_HOURS = {"p1": 4, "p2": 12, "p3": 48, "p4": 120}
CATEGORIES = ("bug", "feature_request", "billing", "onboarding", "how_to", "performance")
CATEGORY_MIX = {
    "healthy": (0.22, 0.16, 0.12, 0.13, 0.27, 0.10),
    "churned": (0.38, 0.10, 0.14, 0.08, 0.15, 0.15),
}
TICKETS_PER_MONTH = {"starter": 0.45, "growth": 0.65, "enterprise": 1.10}
CHURNED_TICKET_FACTOR = 1.6
LATE_RATE = 0.15
LATE_FACTOR = (1.2, 3.0)
ON_TIME_FACTOR = (0.2, 0.95)
UNRESOLVED_BASE = 0.045  # plus a share that decays with the ticket's age
UNRESOLVED_RECENT = 0.6
UNRESOLVED_DECAY_DAYS = 30
ESCALATED_SHARE = {"p1": 0.6, "p2": 0.6, "p3": 0.25, "p4": 0.25}
NO_CSAT_RATE = 0.10
CSAT_MEAN = 4.3
CSAT_SD = 0.7
CSAT_CHURNED_PENALTY = 1.0
CSAT_LATE_PENALTY = 0.9
RESOLVED_FRACTION_RATE = 0.5  # resolved_at written with microseconds


def codes_and_probs(weights: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Split a ``(code, weight)`` table into codes and normalised probabilities."""
    codes = tuple(code for code, _ in weights)
    probs = np.array([w for _, w in weights], dtype=float)
    return codes, probs / probs.sum()


def normalised(weights: tuple[float, ...]) -> np.ndarray:
    """Weights as probabilities summing to 1."""
    arr = np.asarray(weights, dtype=float)
    return arr / arr.sum()
