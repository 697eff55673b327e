"""Tests of the synthetic raw-data generator (no Spark).

The checks parse the CSVs with their own regexes and rules (the raw-input
contract), never with the generator's code, so a generator bug cannot hide
behind itself.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import doctest
import importlib
import os
import pkgutil
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from novacrm_spark import datagen
from novacrm_spark.datagen import GeneratorConfig, generate

AS_OF = dt.date(2025, 1, 31)
FILES = {
    "raw_accounts.csv": "account_id,company_name,industry,employee_count,plan_tier,account_owner,region,signup_date,status",
    "raw_subscriptions.csv": "subscription_id,account_id,product_name,plan_tier,mrr_amount,start_date,end_date,status",
    "raw_invoices.csv": "invoice_id,account_id,invoice_date,amount,currency,status,line_items",
    "raw_usage_events.csv": "event_id,account_id,user_id,event_name,event_timestamp,properties",
    "raw_support_tickets.csv": "ticket_id,account_id,created_at,resolved_at,priority,category,status,satisfaction_score",
}
TIERS = {"starter", "growth", "enterprise"}
PRICES = {"starter": 49, "growth": 149, "enterprise": 499}
ADDON_PRICES = {"api_access": 29, "advanced_analytics": 79, "priority_support": 59}
PRODUCTS = ["novacrm_platform", "api_access", "advanced_analytics", "priority_support"]
REGIONS = {"north_america", "europe", "apac", "latam"}
INDUSTRIES = {"technology", "healthcare", "finance", "retail", "manufacturing", "education",
              "professional_services", "media", "real_estate", "logistics"}
EVENTS = {"dashboard_viewed", "report_created", "export_generated", "contact_added", "deal_updated",
          "note_added", "email_sent", "meeting_logged", "task_completed", "api_call",
          "integration_configured", "workflow_created", "search_performed", "filter_applied", "user_invited"}
SLA = {"p1": 4, "p2": 12, "p3": 48, "p4": 120}
CATEGORIES = {"bug", "feature_request", "billing", "onboarding", "how_to", "performance"}
DOMAINS = {  # file -> column -> allowed values (after trim + lower; currency upper)
    "raw_accounts.csv": {"plan_tier": TIERS, "region": REGIONS, "industry": INDUSTRIES,
                         "status": {"active", "churned", "trial", "suspended"}},
    "raw_subscriptions.csv": {"product_name": set(PRODUCTS), "plan_tier": TIERS,
                              "status": {"active", "cancelled", "upgraded", "trial"}},
    "raw_invoices.csv": {"status": {"paid", "overdue", "void"}, "currency": {"USD"}},
    "raw_usage_events.csv": {},
    "raw_support_tickets.csv": {"priority": set(SLA), "category": CATEGORIES,
                                "status": {"open", "resolved", "escalated"}},
}
REQUIRED = {
    "raw_accounts.csv": ["account_id", "company_name", "plan_tier", "signup_date", "status"],
    "raw_subscriptions.csv": ["subscription_id", "account_id", "product_name", "plan_tier", "mrr_amount",
                              "start_date", "status"],
    "raw_invoices.csv": ["invoice_id", "account_id", "invoice_date", "amount", "status"],
    "raw_usage_events.csv": ["event_id", "account_id", "user_id", "event_name", "event_timestamp"],
    "raw_support_tickets.csv": ["ticket_id", "account_id", "created_at", "priority", "status"],
}
KEY_RE = {
    "raw_accounts.csv": re.compile(r"^ACC-\d{4,}$"),
    "raw_subscriptions.csv": re.compile(r"^SUB-\d{5,}$"),
    "raw_invoices.csv": re.compile(r"^INV-\d{6,}$"),
    "raw_usage_events.csv": re.compile(r"^EVT-\d{8,}$"),
    "raw_support_tickets.csv": re.compile(r"^TKT-\d{5,}$"),
}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_OR_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,6})?)?$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")
MONEY_RE = re.compile(r"^-?\d+(\.\d+)?$")
INT_RE = re.compile(r"^\d+$")
CSAT_RE = re.compile(r"^[1-5]\.\d$")
USER_RE = re.compile(r"^(ACC-\d{4,})-U\d{2}$")
DATE_COLS = {
    "raw_accounts.csv": {"signup_date": DATE_RE},
    "raw_subscriptions.csv": {"start_date": DATE_OR_TS_RE, "end_date": DATE_OR_TS_RE},
    "raw_invoices.csv": {"invoice_date": DATE_RE},
    "raw_usage_events.csv": {"event_timestamp": TS_RE},
    "raw_support_tickets.csv": {"created_at": TS_RE, "resolved_at": TS_RE},
}
MONEY_COLS = {"raw_subscriptions.csv": "mrr_amount", "raw_invoices.csv": "amount"}


# --- helpers (independent of the generator's code) ---------------------------------------------
def read(out: Path) -> dict[str, list[dict[str, str]]]:
    data = {}
    for name in FILES:
        with open(out / name, encoding="utf-8", newline="") as handle:
            data[name] = list(csv.DictReader(handle))
    return data


def parse_day(text: str) -> dt.date | None:
    """Date part of a contract date/timestamp, or None when it does not parse."""
    if not DATE_OR_TS_RE.match(text):
        return None
    try:
        return dt.datetime.fromisoformat(text).date() if "T" in text else dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def norm(name: str, column: str, value: str) -> str:
    value = value.strip()
    return value.upper() if column == "currency" else value.lower() if column in DOMAINS[name] else value


def contract_violations(data: dict[str, list[dict[str, str]]], as_of: dt.date) -> list[str]:
    """Every way a clean data set could break the raw-input contract (empty list = clean)."""
    bad: list[str] = []
    account_ids = {r["account_id"] for r in data["raw_accounts.csv"]}
    for name, rows in data.items():
        keys = collections.Counter(r[FILES[name].split(",")[0]] for r in rows)
        bad += [f"{name}: duplicate key {k}" for k, c in keys.items() if c > 1]
        for r in rows:
            key = r[FILES[name].split(",")[0]]
            if not KEY_RE[name].match(key):
                bad.append(f"{name}: bad key {key!r}")
            bad += [f"{name} {key}: null {c}" for c in REQUIRED[name] if r[c] == ""]
            for col, allowed in DOMAINS[name].items():
                if r[col] != "" and r[col] not in allowed:  # clean codes need no trimming
                    bad.append(f"{name} {key}: {col}={r[col]!r}")
            for col, pattern in DATE_COLS[name].items():
                if r[col] == "":
                    continue
                day = parse_day(r[col]) if pattern.match(r[col]) else None
                if day is None:
                    bad.append(f"{name} {key}: unparseable {col}={r[col]!r}")
                elif day > as_of:
                    bad.append(f"{name} {key}: {col} {day} after as_of")
            if name in MONEY_COLS:
                amount = r[MONEY_COLS[name]]
                if not MONEY_RE.match(amount) or float(amount) < 0:
                    bad.append(f"{name} {key}: amount {amount!r}")
            if name != "raw_accounts.csv" and r["account_id"] not in account_ids:
                bad.append(f"{name} {key}: unknown account {r['account_id']}")
        if name == "raw_accounts.csv":
            for r in rows:
                if not INT_RE.match(r["employee_count"]):
                    bad.append(f"accounts {r['account_id']}: employee_count {r['employee_count']!r}")
        if name == "raw_usage_events.csv":
            for r in rows:
                m = USER_RE.match(r["user_id"])
                if not m or m.group(1) != r["account_id"] or r["event_name"] not in EVENTS:
                    bad.append(f"event {r['event_id']}: user/event {r['user_id']} {r['event_name']}")
        if name == "raw_invoices.csv":
            for r in rows:
                if any(p not in PRODUCTS for p in r["line_items"].split("|")):
                    bad.append(f"invoice {r['invoice_id']}: line_items {r['line_items']!r}")
        if name == "raw_support_tickets.csv":
            for r in rows:
                if r["status"] == "resolved":
                    if not r["resolved_at"] or parse_ts(r["resolved_at"]) < parse_ts(r["created_at"]):
                        bad.append(f"ticket {r['ticket_id']}: resolved without a valid resolved_at")
                elif r["resolved_at"] or r["satisfaction_score"]:
                    bad.append(f"ticket {r['ticket_id']}: {r['status']} with resolution or CSAT")
                if r["satisfaction_score"] and not (CSAT_RE.match(r["satisfaction_score"])
                                                    and 1.0 <= float(r["satisfaction_score"]) <= 5.0):
                    bad.append(f"ticket {r['ticket_id']}: CSAT {r['satisfaction_score']!r}")
        if name == "raw_subscriptions.csv":
            for r in rows:
                if r["status"] == "cancelled" and not r["end_date"]:
                    bad.append(f"sub {r['subscription_id']}: cancelled without end_date")
    return bad


def active_on(sub: dict[str, str], day: dt.date) -> bool:
    start, end = parse_day(sub["start_date"]), parse_day(sub["end_date"]) if sub["end_date"] else None
    return start <= day and (end is None or day < end)


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(GeneratorConfig(accounts=300, seed=7, dirty_rate=0), out)
    return out


@pytest.fixture(scope="module")
def clean(clean_dir) -> dict[str, list[dict[str, str]]]:
    return read(clean_dir)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict[str, list[dict[str, str]]]:
    """2000 clean accounts for distribution checks (~3 s)."""
    out = tmp_path_factory.mktemp("big")
    generate(GeneratorConfig(accounts=2000, seed=21, dirty_rate=0), out)
    return read(out)


# --- config -------------------------------------------------------------------------------------
def test_config_defaults_match_the_cli_contract():
    cfg = GeneratorConfig()
    assert (cfg.accounts, cfg.seed, cfg.as_of, cfg.start, cfg.dirty_rate) == (
        150, 7, dt.date(2025, 1, 31), dt.date(2023, 1, 1), 0.005)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"accounts": 0}, "accounts"),
        ({"accounts": -5}, "accounts"),
        ({"seed": -1}, "seed"),
        ({"dirty_rate": 0.25}, "dirty_rate"),
        ({"dirty_rate": -0.01}, "dirty_rate"),
        ({"start": dt.date(2024, 12, 15)}, "start"),
        ({"start": dt.date(2024, 12, 2)}, "start"),  # exactly as_of - 60 days is not "before"
        ({"as_of": "2025-02-31"}, "as_of"),
    ],
)
def test_config_rejects_bad_values_naming_them(kwargs, named):
    with pytest.raises(ValueError, match=named) as err:
        GeneratorConfig(**kwargs)
    assert str(list(kwargs.values())[0])[:7] in str(err.value)


def test_config_accepts_the_boundaries():
    GeneratorConfig(accounts=1, dirty_rate=0.2, start=dt.date(2024, 12, 1))
    assert GeneratorConfig(as_of="2025-01-31").as_of == dt.date(2025, 1, 31)


# --- format -------------------------------------------------------------------------------------
def test_headers_line_endings_and_quoting(tmp_path):
    counts = generate(GeneratorConfig(accounts=40, seed=3), tmp_path / "nested" / "raw")
    for name, header in FILES.items():
        raw = (tmp_path / "nested" / "raw" / name).read_bytes()
        text = raw.decode("utf-8")
        assert "\r" not in text
        assert text.split("\n", 1)[0] == header
        assert text.endswith("\n")
        with open(tmp_path / "nested" / "raw" / name, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert len(rows) - 1 == counts[name]
        assert all(len(r) == len(header.split(",")) for r in rows)
    assert sorted(counts) == sorted(FILES)
    accounts_text = (tmp_path / "nested" / "raw" / "raw_accounts.csv").read_text()
    assert re.search(r'^ACC-\d{4},"[^"\n]*,[^"\n]*",', accounts_text, re.M)  # commas in names get quoted
    events_text = (tmp_path / "nested" / "raw" / "raw_usage_events.csv").read_text()
    assert '"{""' in events_text  # JSON properties with quotes are quoted and escaped
    assert not re.search(r"\d[eE][+-]?\d", (tmp_path / "nested" / "raw" / "raw_invoices.csv").read_text()
                         .replace("INV-", ""))


def test_progress_reports_about_every_tenth(tmp_path):
    messages: list[str] = []
    generate(GeneratorConfig(accounts=50, seed=1, dirty_rate=0), tmp_path, progress=messages.append)
    assert 9 <= len(messages) <= 11
    assert "50/50" in messages[-1]


# --- determinism --------------------------------------------------------------------------------
def test_same_config_gives_identical_bytes_and_other_seed_differs(tmp_path):
    cfg = GeneratorConfig(accounts=60, seed=11, dirty_rate=0.05)
    generate(cfg, tmp_path / "a")
    generate(cfg, tmp_path / "b")
    generate(GeneratorConfig(accounts=60, seed=12, dirty_rate=0.05), tmp_path / "c")
    for name in FILES:
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes(), name
        assert a != (tmp_path / "c" / name).read_bytes(), name


def test_output_does_not_depend_on_the_process(tmp_path):
    """A fresh interpreter with another hash seed writes the same bytes (no set order or clock)."""
    cfg = "GeneratorConfig(accounts=25, seed=5, dirty_rate=0.1)"
    code = f"from novacrm_spark.datagen import *; generate({cfg}, {str(tmp_path / 'sub')!r})"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[1])
    generate(GeneratorConfig(accounts=25, seed=5, dirty_rate=0.1), tmp_path / "here")
    for name in FILES:
        assert (tmp_path / "sub" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_clean_rows_survive_unchanged_in_the_dirty_set(tmp_path, clean_dir):
    """Dirt alters or adds rows; it never reshuffles the world of the same seed."""
    generate(GeneratorConfig(accounts=300, seed=7, dirty_rate=0.01), tmp_path)
    for name in FILES:
        clean_lines = (clean_dir / name).read_text().splitlines()
        dirty_lines = set((tmp_path / name).read_text().splitlines())
        kept = sum(line in dirty_lines for line in clean_lines)
        assert kept >= 0.9 * len(clean_lines), name
        assert kept < len(clean_lines) or name == "raw_accounts.csv", name  # some rows were broken


# --- clean contract -----------------------------------------------------------------------------
def test_clean_set_satisfies_the_raw_contract(clean):
    assert contract_violations(clean, AS_OF) == []
    assert all(len(rows) > 0 for rows in clean.values())


def test_validator_catches_broken_rows(clean):
    """The contract check itself must be able to fail."""
    broken = {name: [dict(r) for r in rows[:50]] for name, rows in clean.items()}
    broken["raw_invoices.csv"][0]["amount"] = "1,234.00"
    broken["raw_support_tickets.csv"][0]["created_at"] = "2025-02-01T10:00:00"
    broken["raw_usage_events.csv"].append(dict(broken["raw_usage_events.csv"][0]))
    found = contract_violations(broken, AS_OF)
    assert any("amount" in v for v in found)
    assert any("after as_of" in v for v in found)
    assert any("duplicate key" in v for v in found)


def test_nothing_is_dated_after_as_of_and_as_of_is_reached(clean):
    days = [parse_day(r["signup_date"]) for r in clean["raw_accounts.csv"]]
    days += [parse_day(r[c]) for r in clean["raw_subscriptions.csv"] for c in ("start_date", "end_date")
             if r[c]]
    days += [parse_day(r["invoice_date"]) for r in clean["raw_invoices.csv"]]
    days += [parse_day(r["event_timestamp"]) for r in clean["raw_usage_events.csv"]]
    days += [parse_day(r[c]) for r in clean["raw_support_tickets.csv"] for c in ("created_at", "resolved_at")
             if r[c]]
    assert max(days) == AS_OF  # the latest raw date is the as_of date (pipeline default as_of)
    assert min(days) >= dt.date(2023, 1, 1)


def test_invoices_agree_with_subscriptions_month_by_month(clean):
    subs = collections.defaultdict(list)
    for s in clean["raw_subscriptions.csv"]:
        subs[s["account_id"]].append(s)
    signup = {a["account_id"]: parse_day(a["signup_date"]) for a in clean["raw_accounts.csv"]}
    invoices = collections.defaultdict(list)
    for inv in clean["raw_invoices.csv"]:
        invoices[inv["account_id"]].append(inv)
        day = parse_day(inv["invoice_date"])
        active = [s for s in subs[inv["account_id"]] if float(s["mrr_amount"]) > 0 and active_on(s, day)]
        assert float(inv["amount"]) == pytest.approx(sum(float(s["mrr_amount"]) for s in active)), inv
        expected_items = [p for p in PRODUCTS if any(s["product_name"] == p for s in active)]
        assert inv["line_items"].split("|") == expected_items, inv
        assert inv["currency"] == "USD"
        sd = signup[inv["account_id"]]
        assert day.day == sd.day or (day.day < sd.day and (day + dt.timedelta(days=1)).day == 1), inv

    # every billable month has its invoice, except short gaps on a few accounts
    accounts_with_gaps = 0
    for acc, start in signup.items():
        billed_months = {parse_day(i["invoice_date"]).replace(day=1) for i in invoices[acc]}
        assert len(billed_months) == len(invoices[acc]), acc  # one invoice per month
        missing = []
        month = start.replace(day=1)
        while month <= AS_OF:
            last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            day = month.replace(day=min(start.day, last.day))
            if start <= day <= AS_OF and any(float(s["mrr_amount"]) > 0 and active_on(s, day) for s in subs[acc]):
                if month not in billed_months:
                    missing.append(month)
            month = last + dt.timedelta(days=1)
        assert len(missing) <= 2, (acc, missing)
        accounts_with_gaps += bool(missing)
    assert accounts_with_gaps <= 0.08 * len(signup)


def test_account_stories_are_consistent(clean):
    accounts = {a["account_id"]: a for a in clean["raw_accounts.csv"]}
    subs = collections.defaultdict(list)
    for s in clean["raw_subscriptions.csv"]:
        subs[s["account_id"]].append(s)
    invoiced = {i["account_id"] for i in clean["raw_invoices.csv"]}
    last_event = {}
    for e in clean["raw_usage_events.csv"]:
        last_event[e["account_id"]] = max(last_event.get(e["account_id"], ""), e["event_timestamp"])
    seen_upgrade = seen_cancelled_addon = False
    for acc, a in accounts.items():
        signup = parse_day(a["signup_date"])
        age = (AS_OF - signup).days
        assert not 30 <= age < 60, acc
        if age < 30:
            assert a["status"] in {"trial", "active"}, acc
        platform = [s for s in subs[acc] if s["product_name"] == "novacrm_platform"]
        assert platform and parse_day(platform[0]["start_date"]) == signup, acc
        lo, hi = {"starter": (5, 100), "growth": (30, 500), "enterprise": (200, 5000)}[a["plan_tier"]]
        assert lo <= int(a["employee_count"]) <= hi, acc
        if a["status"] == "trial":
            assert [(s["status"], s["mrr_amount"]) for s in subs[acc]] == [("trial", "0.00")], acc
            assert acc not in invoiced
            end = subs[acc][0]["end_date"]
            assert (parse_day(end) - signup).days == 14 if age >= 14 else end == "", acc
        elif a["status"] == "churned":
            ends = {parse_day(s["end_date"]) for s in subs[acc] if s["status"] == "cancelled"}
            churn = parse_day(platform[0]["end_date"])
            assert all(s["status"] == "cancelled" for s in subs[acc]), acc
            assert max(ends) == churn <= AS_OF and 60 <= (churn - signup).days <= 548, acc
            assert acc not in last_event or parse_day(last_event[acc]) < churn, acc
        else:
            assert any(s["status"] == "active" for s in platform), acc
        for s in subs[acc]:
            if s["product_name"] == "novacrm_platform" and s["status"] != "trial":
                assert float(s["mrr_amount"]) == PRICES[s["plan_tier"]], s
            elif s["product_name"] != "novacrm_platform":
                assert float(s["mrr_amount"]) == ADDON_PRICES[s["product_name"]], s
                assert 15 <= (parse_day(s["start_date"]) - signup).days <= 180, s
                seen_cancelled_addon |= s["status"] == "cancelled" and a["status"] == "active"
        upgraded = [s for s in platform if s["status"] == "upgraded"]
        if upgraded:
            seen_upgrade = True
            new = [s for s in platform if s["start_date"][:10] == upgraded[0]["end_date"][:10]]
            order = ["starter", "growth", "enterprise"]
            assert len(new) == 1 and new[0]["status"] == "active", acc
            assert order.index(new[0]["plan_tier"]) == order.index(upgraded[0]["plan_tier"]) + 1, acc
            assert a["plan_tier"] == new[0]["plan_tier"] and a["status"] == "active", acc
    assert seen_upgrade and seen_cancelled_addon


# --- distributions (2000 accounts) --------------------------------------------------------------
def shares(values) -> dict[str, float]:
    counts = collections.Counter(values)
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}


def test_distributions_match_the_model(big):
    accounts = big["raw_accounts.csv"]
    n = len(accounts)
    assert contract_violations(big, AS_OF) == []
    first_platform = {}
    for s in big["raw_subscriptions.csv"]:
        if s["product_name"] == "novacrm_platform":
            first_platform.setdefault(s["account_id"], s["plan_tier"])
    signup_tier = shares(first_platform.values())
    for tier, want in {"starter": 0.45, "growth": 0.35, "enterprise": 0.20}.items():
        assert signup_tier[tier] == pytest.approx(want, abs=0.035), tier
    region = shares(a["region"] for a in accounts)
    for reg, want in {"north_america": 0.40, "europe": 0.30, "apac": 0.20, "latam": 0.10}.items():
        assert region[reg] == pytest.approx(want, abs=0.035), reg
    assert len({a["industry"] for a in accounts}) == 10
    assert len({a["account_owner"] for a in accounts}) == 6

    churn = {t: [] for t in TIERS}
    for a in accounts:
        if (AS_OF - parse_day(a["signup_date"])).days >= 60 and a["account_id"] in first_platform:
            churn[first_platform[a["account_id"]]].append(a["status"] == "churned")
    for tier, want in {"starter": 0.30, "growth": 0.20, "enterprise": 0.08}.items():
        assert statistics.mean(churn[tier]) == pytest.approx(want, abs=0.05), tier

    tickets = big["raw_support_tickets.csv"]
    prio = shares(t["priority"] for t in tickets)
    for p, want in {"p1": 0.05, "p2": 0.15, "p3": 0.45, "p4": 0.35}.items():
        assert prio[p] == pytest.approx(want, abs=0.02), p
    assert 6.0 <= len(tickets) / n <= 11.5  # ~1300 tickets per 150 accounts
    unresolved = shares(t["status"] in {"open", "escalated"} for t in tickets)[True]
    assert 0.05 <= unresolved <= 0.11
    resolved = [t for t in tickets if t["status"] == "resolved"]
    ratio = [(parse_ts(t["resolved_at"]) - parse_ts(t["created_at"])).total_seconds() / 3600 / SLA[t["priority"]]
             for t in resolved]
    assert statistics.mean(r > 1.0 for r in ratio) == pytest.approx(0.15, abs=0.03)
    assert all(0.19 <= r <= 3.01 for r in ratio)
    assert statistics.mean(t["satisfaction_score"] == "" for t in resolved) == pytest.approx(0.10, abs=0.025)
    status = {a["account_id"]: a["status"] for a in accounts}
    csat = collections.defaultdict(list)
    for t in resolved:
        if t["satisfaction_score"]:
            csat[status[t["account_id"]] == "churned"].append(float(t["satisfaction_score"]))
    assert statistics.mean(csat[True]) < statistics.mean(csat[False]) - 0.5

    regular = {a["account_id"] for a in accounts if a["status"] in {"active", "trial"}}
    paid = shares(i["status"] == "paid" for i in big["raw_invoices.csv"] if i["account_id"] in regular)
    assert paid[True] == pytest.approx(0.92, abs=0.02)
    assert {i["status"] for i in big["raw_invoices.csv"]} == {"paid", "overdue", "void"}

    events = big["raw_usage_events.csv"]
    assert 65 <= len(events) / n <= 170  # 150 accounts ~ 10k-25k events
    hours = [int(e["event_timestamp"][11:13]) for e in events]
    assert statistics.mean(8 <= h < 18 for h in hours) > 0.75
    tier = {a["account_id"]: a["plan_tier"] for a in accounts}
    api = {t: shares(e["event_name"] == "api_call" for e in events if tier[e["account_id"]] == t).get(True, 0)
           for t in TIERS}
    assert api["enterprise"] > 3 * api["starter"]


# --- dirt ---------------------------------------------------------------------------------------
def dirt_census(data: dict[str, list[dict[str, str]]]) -> dict[tuple[str, str], int]:
    """Count rows per (file, kind of dirt), judged by the contract alone."""
    found: collections.Counter = collections.Counter()
    valid_accounts = set()
    for name, rows in data.items():
        columns = FILES[name].split(",")
        key = columns[0]
        versions = collections.defaultdict(collections.Counter)
        for r in rows:
            normalised = tuple(norm(name, c, r[c]) for c in columns)
            versions[r[key]][normalised] += 1
            if any(r[c] != "" and r[c] not in allowed and norm(name, c, r[c]) in allowed
                   for c, allowed in DOMAINS[name].items()) or (
                    name == "raw_usage_events.csv" and r["event_name"] not in EVENTS
                    and r["event_name"].strip().lower() in EVENTS):
                found[name, "cosmetic"] += 1
            if any(r[c] == "" for c in REQUIRED[name]):
                found[name, "null"] += 1
            if any(r[c] and parse_day(r[c]) is None for c in DATE_COLS[name]):
                found[name, "bad_date"] += 1
            if name in MONEY_COLS:
                amount = r[MONEY_COLS[name]]
                if amount and not MONEY_RE.match(amount):
                    found[name, "bad_amount"] += 1
                elif amount and float(amount) < 0:
                    found[name, "negative_amount"] += 1
            if name == "raw_usage_events.csv" and r["event_name"] and r["event_name"].strip().lower() not in EVENTS:
                found[name, "unknown_event"] += 1
            if name == "raw_support_tickets.csv" and r["priority"] and norm(name, "priority", r["priority"]) not in SLA:
                found[name, "bad_priority"] += 1
            if name != "raw_accounts.csv" and r["account_id"] and r["account_id"] not in data_ids(data):
                found[name, "unknown_account"] += 1
        for k, per_version in versions.items():
            found[name, "duplicate"] += sum(c - 1 for c in per_version.values())
            if k and len(per_version) > 1:
                found[name, "conflict"] += 1
        if name == "raw_accounts.csv":
            valid_accounts = {k for k, v in versions.items() if len(v) == 1}
    found["raw_accounts.csv", "single_version_ids"] = len(valid_accounts)
    return dict(found)


_IDS_CACHE: dict[int, set[str]] = {}


def data_ids(data) -> set[str]:
    key = id(data["raw_accounts.csv"])
    if key not in _IDS_CACHE:
        _IDS_CACHE[key] = {r["account_id"] for r in data["raw_accounts.csv"] if r["account_id"]}
    return _IDS_CACHE[key]


KINDS = {
    "raw_accounts.csv": ["cosmetic", "duplicate", "conflict", "null", "bad_date"],
    "raw_subscriptions.csv": ["cosmetic", "duplicate", "conflict", "null", "bad_date", "bad_amount"],
    "raw_invoices.csv": ["cosmetic", "duplicate", "conflict", "null", "bad_date", "bad_amount",
                         "negative_amount"],
    "raw_usage_events.csv": ["cosmetic", "duplicate", "conflict", "null", "bad_date", "unknown_event"],
    "raw_support_tickets.csv": ["cosmetic", "duplicate", "conflict", "null", "bad_date", "unknown_account",
                                "bad_priority"],
}


def test_clean_set_has_no_dirt(clean):
    census = dirt_census(clean)
    assert {k: v for k, v in census.items() if k[1] != "single_version_ids" and v} == {}


def test_every_kind_of_dirt_at_about_the_rate(tmp_path, clean):
    rate = 0.02
    generate(GeneratorConfig(accounts=300, seed=7, dirty_rate=rate), tmp_path)
    dirty = read(tmp_path)
    census = dirt_census(dirty)
    for name, kinds in KINDS.items():
        for kind in kinds:
            assert census.get((name, kind), 0) >= 1, (name, kind)
    for name in ("raw_invoices.csv", "raw_usage_events.csv", "raw_support_tickets.csv"):
        expected = rate * len(clean[name])
        for kind in KINDS[name]:
            assert 0.4 * expected <= census[name, kind] <= 2.0 * expected, (name, kind, census[name, kind])


def test_dirt_spares_real_accounts_and_their_children(tmp_path, clean):
    generate(GeneratorConfig(accounts=300, seed=7, dirty_rate=0.05), tmp_path)
    dirty = read(tmp_path)
    clean_accounts = {r["account_id"]: r for r in clean["raw_accounts.csv"]}
    versions = collections.defaultdict(set)
    for r in dirty["raw_accounts.csv"]:
        versions[r["account_id"]].add(tuple(norm("raw_accounts.csv", c, r[c])
                                            for c in FILES["raw_accounts.csv"].split(",")))
    for acc, row in clean_accounts.items():  # every real account survives cleaning unchanged
        assert versions[acc] == {tuple(row.values())}, acc
    ghosts = set(versions) - set(clean_accounts)
    assert ghosts, "dirty accounts go to extra ghost accounts"
    child_accounts = {r["account_id"] for name in list(FILES)[1:] for r in dirty[name]}
    assert not (ghosts - {""}) & child_accounts


def test_library_docstring_examples_run():
    modules = [datagen] + [importlib.import_module(f"novacrm_spark.datagen.{m.name}")
                           for m in pkgutil.iter_modules(datagen.__path__)]
    for module in modules:
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
    assert sum(doctest.testmod(m).attempted for m in modules) >= 10
