"""The schema of every pipeline table, as Spark DDL, for building test inputs and expectations.

One place per table, so a column change is made once. They state the spec's
column lists by hand (the contract test checks the models against the contracts).
"""

CHURN_RISK_VIEW = (
    "account_id string, company_name string, account_segment string, plan_tier string, "
    "account_owner string, region string, current_mrr decimal(18, 2), current_arr decimal(18, 2), "
    "tenure_months int, health_score double, health_tier string, events_last_30d bigint, "
    "events_prev_30d bigint, usage_change_pct double, escalated_tickets_90d bigint, "
    "high_priority_tickets_90d bigint, contraction_months_6m bigint, is_low_health boolean, "
    "is_usage_declining boolean, has_escalations boolean, has_revenue_contraction boolean, "
    "risk_signal_count int, risk_level string, assessed_at timestamp"
)

CUSTOMER_HEALTH_SCORES = (
    "account_id string, company_name string, account_segment string, plan_tier string, "
    "tenure_months int, current_mrr decimal(18, 2), current_arr decimal(18, 2), "
    "account_owner string, lifecycle_stage string, region string, usage_score int, "
    "support_score int, revenue_score int, engagement_score int, avg_daily_events_30d double, "
    "open_tickets_30d bigint, avg_csat_30d double, latest_mrr decimal(18, 2), "
    "latest_mrr_change decimal(18, 2), features_used_30d bigint, health_score double, "
    "health_tier string, intervention_priority int, scored_at timestamp"
)

DIM_ACCOUNT = (
    "account_id string, company_name string, industry string, employee_count int, plan_tier string, "
    "account_owner string, region string, signup_date date, status string, tenure_days int, "
    "tenure_months int, account_segment string, current_mrr decimal(18, 2), current_arr decimal(18, "
    "2), active_subscription_count bigint, total_subscription_count bigint, "
    "active_addon_count bigint, first_subscription_date date, latest_subscription_date date, "
    "lifetime_tickets bigint, open_tickets bigint, avg_csat double, avg_resolution_hours double, "
    "sla_breaches bigint, lifecycle_stage string"
)

DIM_DATE = (
    "date_day date, year int, quarter int, month_number int, month_name string, year_month string, "
    "week_number int, day_of_week int, day_name string, day_of_month int, is_weekend boolean, "
    "first_day_of_month date, last_day_of_month date, first_day_of_quarter date, "
    "first_day_of_year date"
)

DIM_PRODUCT = (
    "product_key string, product_name string, product_type string, product_display_name string, "
    "plan_tier string, list_price_mrr decimal(18, 2), feature_category string"
)

FCT_REVENUE = (
    "account_id string, revenue_month date, mrr decimal(18, 2), collected_mrr decimal(18, 2), "
    "arr decimal(18, 2), previous_mrr decimal(18, 2), revenue_movement string, new_mrr decimal(18, "
    "2), reactivation_mrr decimal(18, 2), expansion_mrr decimal(18, 2), contraction_mrr decimal(18, "
    "2), churned_mrr decimal(18, 2), net_mrr_change decimal(18, 2), month_number int, "
    "first_revenue_month date"
)

FCT_TICKETS = (
    "ticket_id string, account_id string, created_at timestamp, resolved_at timestamp, "
    "priority string, category string, status string, satisfaction_score double, "
    "resolution_hours double, sla_target_hours int, is_sla_breach boolean, created_date date, "
    "created_month int, created_year_month string, sla_ratio double, resolution_speed string, "
    "csat_tier string, account_plan_tier string, account_owner string, account_region string"
)

FCT_USAGE = (
    "account_id string, event_date date, total_events bigint, active_users bigint, "
    "distinct_features_used bigint, distinct_categories_used bigint, reporting_events bigint, "
    "crm_core_events bigint, communication_events bigint, advanced_events bigint, "
    "platform_events bigint, api_calls bigint, reports_created bigint, workflows_created bigint, "
    "first_event_at timestamp, last_event_at timestamp, active_hours double, "
    "feature_breadth_pct double, is_power_usage_day boolean"
)

NRR_SUMMARY = (
    "revenue_month date, starting_mrr decimal(18, 2), new_mrr decimal(18, 2), "
    "reactivation_mrr decimal(18, 2), expansion_mrr decimal(18, 2), contraction_mrr decimal(18, 2), "
    "churned_mrr decimal(18, 2), ending_mrr decimal(18, 2), paying_accounts bigint, "
    "new_accounts bigint, reactivated_accounts bigint, churned_accounts bigint, nrr_pct double, "
    "grr_pct double, mrr_growth_pct double, ending_arr decimal(18, 2)"
)

REVENUE_COHORT_ANALYSIS = (
    "cohort_month date, cohort_label string, period_number int, active_accounts bigint, "
    "cohort_mrr decimal(18, 2), avg_mrr_per_account decimal(18, 2), initial_accounts bigint, "
    "initial_mrr decimal(18, 2), account_retention_pct double, revenue_retention_pct double, "
    "avg_mrr_change_per_account decimal(18, 2)"
)

SLA_ADHERENCE = (
    "ticket_year_month string, dimension_type string, dimension_value string, total_tickets bigint, "
    "resolved_tickets bigint, sla_breaches bigint, within_sla bigint, unresolved_tickets bigint, "
    "sla_adherence_pct double, avg_resolution_hours double, median_resolution_hours double, "
    "p90_resolution_hours double, avg_csat double"
)

STG_ACCOUNTS = (
    "account_id string, company_name string, industry string, employee_count int, plan_tier string, "
    "account_owner string, region string, signup_date date, status string, _loaded_at timestamp"
)

STG_INVOICES = (
    "invoice_id string, account_id string, invoice_date date, amount decimal(18, 2), "
    "currency string, status string, line_items array<string>, invoice_month date, is_paid boolean, "
    "is_billed boolean, _loaded_at timestamp"
)

STG_SUBSCRIPTIONS = (
    "subscription_id string, account_id string, product_name string, plan_tier string, "
    "mrr_amount decimal(18, 2), start_date date, end_date date, status string, is_active boolean, "
    "duration_days int, _loaded_at timestamp"
)

STG_SUPPORT_TICKETS = (
    "ticket_id string, account_id string, created_at timestamp, resolved_at timestamp, "
    "priority string, category string, status string, satisfaction_score double, "
    "resolution_hours double, sla_target_hours int, is_sla_breach boolean, created_date date, "
    "_loaded_at timestamp"
)

STG_USAGE_EVENTS = (
    "event_id string, account_id string, user_id string, event_name string, "
    "event_timestamp timestamp, event_date date, event_hour int, event_category string, "
    "_loaded_at timestamp"
)
