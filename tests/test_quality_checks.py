"""The check engine: for every check kind a passing and a failing case, with the failing rows."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality

from novacrm_spark.bookkeeping import ROWS_PER_KEY
from novacrm_spark.quality.checks import SAMPLE_ROWS, flagged, render_sql, results, run_checks
from novacrm_spark.quality.contracts import ContractError, parse_table

SCHEMA = "account_id string, plan_tier string, mrr int, previous_mrr int, change int"
ROWS = [
    ("A1", "starter", 10, 0, 10),
    ("A2", "growth", 20, 25, -5),
    ("A3", "enterprise", 30, 30, 0),
]
PARENT_SCHEMA = "account_id string"


def contract(checks: list, columns: dict | None = None):
    """A small contract over SCHEMA with the given table-level checks."""
    columns = columns or {
        "account_id": {"type": "string", "description": "id"},
        "plan_tier": {"type": "string", "description": "tier"},
        "mrr": {"type": "int", "description": "mrr"},
        "previous_mrr": {"type": "int", "description": "previous"},
        "change": {"type": "int", "description": "mrr - previous"},
    }
    return parse_table("core", "t", {"description": "test table", "columns": columns, "checks": checks}, "test")


@pytest.fixture
def table(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def results_by_name(contract_, df, parents=None, params=None):
    parent_of = (lambda name: parents[name]) if parents else None
    return {r.check: r for r in run_checks(contract_, df, parent_of, params)}


def only_check(contract_):
    assert len(contract_.checks) == 1
    return contract_.checks[0]


def failing(contract_, df, parents=None, index=0):
    """The rows of ``df`` that fail the contract's check number ``index``, by the flag the write counts."""
    frame, _metrics = flagged(contract_, df, parents.get if parents else None)
    flag = [c for c in frame.columns if c not in df.columns][index]
    return frame.where(flag).select(*df.columns)


# --- one passing and one failing case per kind -------------------------------------


def test_not_null(spark, table):
    c = contract([{"not_null": {"columns": ["plan_tier"]}}])
    bad = spark.createDataFrame(ROWS + [("A4", None, 1, 0, 1)], SCHEMA)

    assert failing(c, table).count() == 0
    assert_df_equality(failing(c, bad), spark.createDataFrame([("A4", None, 1, 0, 1)], SCHEMA))
    result = results_by_name(contract([{"not_null": {"columns": ["plan_tier"]}}]), bad)["not_null(plan_tier)"]
    assert (result.status, result.failing_rows) == ("error", 1)


def test_unique_counts_every_row_of_a_repeated_key_and_ignores_nulls(spark, table):
    c = contract([{"unique": ["account_id"]}])
    bad = spark.createDataFrame(
        ROWS + [("A1", "growth", 11, 0, 11), (None, "growth", 1, 0, 1), (None, "growth", 2, 0, 2)], SCHEMA
    )

    assert failing(c, table).count() == 0
    expected = spark.createDataFrame([("A1", "starter", 10, 0, 10), ("A1", "growth", 11, 0, 11)], SCHEMA)
    assert_df_equality(failing(c, bad), expected, ignore_row_order=True)


def test_unique_on_a_composite_key(spark):
    c = contract([{"unique": {"columns": ["account_id", "plan_tier"]}}])
    ok = spark.createDataFrame([("A1", "starter", 1, 0, 1), ("A1", "growth", 1, 0, 1)], SCHEMA)
    bad = spark.createDataFrame([("A1", "starter", 1, 0, 1), ("A1", "starter", 2, 0, 2)], SCHEMA)

    assert failing(c, ok).count() == 0
    assert failing(c, bad).count() == 2
    assert only_check(c).name == "unique(account_id, plan_tier)"


def test_accepted_values_lets_nulls_pass(spark, table):
    c = contract([{"accepted_values": {"columns": ["plan_tier"], "values": ["starter", "growth", "enterprise"]}}])
    bad = spark.createDataFrame(ROWS + [("A4", "platinum", 1, 0, 1), ("A5", None, 1, 0, 1)], SCHEMA)

    assert failing(c, table).count() == 0
    assert_df_equality(failing(c, bad), spark.createDataFrame([("A4", "platinum", 1, 0, 1)], SCHEMA))


def test_accepted_values_patterns_accept_whole_matches_only(spark):
    c = contract([{"accepted_values": {
        "columns": ["plan_tier"], "values": ["starter"], "patterns": [r"tier \(\d+\)"],
    }}])
    rows = [("A1", "starter", 1, 0, 1), ("A2", "tier (12)", 1, 0, 1), ("A3", "tier (x)", 1, 0, 1),
            ("A4", "old tier (3)", 1, 0, 1), ("A5", "tier (3) and more", 1, 0, 1)]

    rejected = failing(c, spark.createDataFrame(rows, SCHEMA)).select("account_id")
    assert_df_equality(rejected, spark.createDataFrame([("A3",), ("A4",), ("A5",)], "account_id string"),
                       ignore_row_order=True)
    assert only_check(c).patterns == (r"tier \(\d+\)",)


def test_relationships_is_an_anti_join_against_the_parent(spark, table):
    c = contract([{"relationships": {"columns": ["account_id"], "to": "accounts", "field": "account_id"}}])
    parents = {"accounts": spark.createDataFrame([("A1",), ("A2",), ("A3",)], PARENT_SCHEMA)}
    orphans = spark.createDataFrame(ROWS + [("A9", "growth", 1, 0, 1), (None, "growth", 2, 0, 2)], SCHEMA)

    assert failing(c, table, parents).count() == 0
    assert_df_equality(failing(c, orphans, parents), spark.createDataFrame([("A9", "growth", 1, 0, 1)], SCHEMA))
    assert only_check(c).name == "relationships(account_id -> accounts.account_id)"


def test_range_is_inclusive_and_lets_nulls_pass(spark, table):
    c = contract([{"range": {"columns": ["mrr"], "min": 10, "max": 30}}])
    bad = spark.createDataFrame(ROWS + [("A4", "growth", -1, 0, -1), ("A5", "growth", 31, 0, 31), ("A6", "growth", None, 0, None)], SCHEMA)

    assert failing(c, table).count() == 0  # 10 and 30 are on the bounds
    expected = spark.createDataFrame([("A4", "growth", -1, 0, -1), ("A5", "growth", 31, 0, 31)], SCHEMA)
    assert_df_equality(failing(c, bad), expected, ignore_row_order=True)


def test_range_with_one_open_end(spark):
    c = contract([{"range": {"columns": ["mrr"], "min": 0}}])
    df = spark.createDataFrame([("A1", "growth", 0, 0, 0), ("A2", "growth", 10**6, 0, 0), ("A3", "growth", -5, 0, 0)], SCHEMA)

    assert [r.account_id for r in failing(c, df).collect()] == ["A3"]
    assert only_check(c).name == "range(mrr, 0..)"


def test_expression_holds_per_row(spark, table):
    invariant = {"expression": {"name": "change_is_difference", "sql": "change = mrr - previous_mrr"}}
    c = contract([invariant])
    bad = spark.createDataFrame(ROWS + [("A4", "growth", 5, 1, 3)], SCHEMA)

    assert failing(c, table).count() == 0
    assert_df_equality(failing(c, bad), spark.createDataFrame([("A4", "growth", 5, 1, 3)], SCHEMA))


def test_expression_null_result_fails_unless_the_check_lets_nulls_pass(spark):
    df = spark.createDataFrame([("A1", "growth", 5, None, 5)], SCHEMA)
    strict = contract([{"expression": {"name": "e", "sql": "change = mrr - previous_mrr"}}])
    lenient = contract([{"expression": {"name": "e", "sql": "change = mrr - previous_mrr", "null_passes": True}}])

    assert failing(strict, df).count() == 1
    assert failing(lenient, df).count() == 0


def test_expression_placeholders_become_date_literals(spark):
    sql = "revenue_month <= {as_of_month} AND d <= {as_of_date}"
    params = {"as_of_date": dt.date(2025, 1, 31), "as_of_month": dt.date(2025, 1, 1)}

    assert render_sql(sql, params) == "revenue_month <= DATE'2025-01-01' AND d <= DATE'2025-01-31'"
    with pytest.raises(ContractError, match="needs as_of_month"):
        render_sql(sql, {"as_of_date": dt.date(2025, 1, 31)})


# --- results: severity, samples, messages, schema --------------------------------------


def test_warn_check_reports_without_blocking(spark):
    c = contract([{"range": {"columns": ["mrr"], "min": 100, "severity": "warn"}}])
    df = spark.createDataFrame(ROWS, SCHEMA)

    result = results_by_name(c, df)["range(mrr, 100..)"]
    assert (result.status, result.failing_rows, result.severity) == ("warn", 3, "warn")


def test_failure_message_names_table_check_count_and_at_most_five_sample_rows(spark):
    c = contract(
        [{"not_null": {"columns": ["account_id"]}}, {"unique": ["account_id"]}, {"range": {"columns": ["mrr"], "min": 0}}]
    )
    rows = [(f"A{i}", "growth", -i, 0, -i) for i in range(1, 8)]
    result = results_by_name(c, spark.createDataFrame(rows, SCHEMA))["range(mrr, 0..)"]

    assert result.failing_rows == 7
    assert len(result.samples) == SAMPLE_ROWS
    # Samples show the key and the checked column, in key order.
    assert result.samples[0] == {"account_id": "A1", "mrr": -1}
    message = result.describe()
    assert message.startswith("t: check range(mrr, 0..) failed on 7 row(s); sample rows: {account_id=A1, mrr=-1}")


def test_expression_samples_show_the_columns_the_expression_reads(spark):
    c = contract([{"unique": ["account_id"]}, {"expression": {"name": "e", "sql": "change = mrr - previous_mrr"}}])
    result = results_by_name(c, spark.createDataFrame([("A1", "growth", 5, 1, 3)], SCHEMA))["expression(e)"]

    assert result.samples == [{"account_id": "A1", "mrr": 5, "previous_mrr": 1, "change": 3}]


def test_all_checks_pass_on_good_data_and_schema_is_checked_first(spark, table):
    c = contract(
        [
            {"not_null": {"columns": ["account_id"]}},
            {"unique": ["account_id"]},
            {"accepted_values": {"columns": ["plan_tier"], "values": ["starter", "growth", "enterprise"]}},
            {"range": {"columns": ["mrr"], "min": 0}},
            {"expression": {"name": "e", "sql": "change = mrr - previous_mrr"}},
            {"relationships": {"columns": ["account_id"], "to": "accounts", "field": "account_id"}},
        ]
    )
    parents = {"accounts": spark.createDataFrame([("A1",), ("A2",), ("A3",)], PARENT_SCHEMA)}
    results = run_checks(c, table, parents.get)

    assert results[0].kind == "schema"
    assert len(results) == 1 + len(c.checks)
    assert {r.status for r in results} == {"pass"}


def test_schema_mismatch_fails_and_names_every_problem(spark):
    c = contract([{"not_null": {"columns": ["account_id"]}}])
    schema = "account_id string, plan_tier string, mrr string, previous_mrr int, extra string"
    df = spark.createDataFrame([("A1", "growth", "10", 0, "x")], schema)

    (result,) = run_checks(c, df)
    assert result.status == "error"
    assert result.failing_rows == 3
    assert result.detail == "mrr is string, contract says int; missing column change; undocumented column extra"


def test_an_expression_that_cannot_run_names_its_table_and_check(spark, table):
    c = contract([{"expression": {"name": "typo", "sql": "no_such_column > 0"}}])

    with pytest.raises(ContractError, match=r"core\.t: check expression\(typo\) cannot run"):
        run_checks(c, table)


# --- one aggregation for row-level and relationships checks; narrow unique counts -------


ACCOUNTS = {"relationships": {"columns": ["account_id"], "to": "accounts", "field": "account_id"}}
TIERS = {"relationships": {"columns": ["plan_tier"], "to": "tiers", "field": "tier"}}
ACCOUNTS_NAME = "relationships(account_id -> accounts.account_id)"
TIERS_NAME = "relationships(plan_tier -> tiers.tier)"


def test_relationships_to_two_parents_and_row_level_checks_count_each_check_exactly(spark):
    c = contract(
        [
            {"not_null": {"columns": ["account_id"]}},
            ACCOUNTS,
            {"range": {"columns": ["mrr"], "min": 0}},
            TIERS,
            {"expression": {"name": "e", "sql": "change = mrr - previous_mrr"}},
        ]
    )
    df = spark.createDataFrame(
        [
            ("A1", "starter", 10, 0, 10),
            ("A9", "starter", 5, 0, 5),  # unknown account
            ("A8", "growth", 7, 0, 7),  # unknown account
            ("A7", "gold", -1, 0, -1),  # unknown account, unknown tier, negative mrr
            (None, "growth", 3, 0, 3),  # null account: fails not_null, passes the relationship
            (None, None, 4, 0, 9),  # null account and tier: both relationships pass; expression fails
        ],
        SCHEMA,
    )
    parents = {
        "accounts": spark.createDataFrame([("A1",), ("A2",)], PARENT_SCHEMA),
        "tiers": spark.createDataFrame([("starter",), ("growth",), ("enterprise",)], "tier string"),
    }

    results = run_checks(c, df, parents.get)
    by_name = {r.check: r for r in results}

    assert [r.check for r in results] == ["schema(columns and types match the contract)"] + [x.name for x in c.checks]
    assert by_name["not_null(account_id)"].failing_rows == 2
    assert by_name[ACCOUNTS_NAME].failing_rows == 3
    assert by_name["range(mrr, 0..)"].failing_rows == 1
    assert by_name[TIERS_NAME].failing_rows == 1
    assert by_name["expression(e)"].failing_rows == 1
    # Samples are the orphans themselves, never the null-key rows (no unique key: checked column only).
    assert by_name[ACCOUNTS_NAME].samples == [{"account_id": "A7"}, {"account_id": "A8"}, {"account_id": "A9"}]
    assert by_name[TIERS_NAME].samples == [{"plan_tier": "gold"}]


def test_a_null_child_key_passes_its_relationship(spark):
    c = contract([ACCOUNTS])
    df = spark.createDataFrame([(None, "growth", 1, 0, 1), ("A1", "growth", 1, 0, 1)], SCHEMA)
    parents = {"accounts": spark.createDataFrame([("A1",)], PARENT_SCHEMA)}

    result = results_by_name(c, df, parents)[ACCOUNTS_NAME]
    assert (result.status, result.failing_rows, result.samples) == ("pass", 0, [])


def test_a_parent_repeating_its_keys_does_not_inflate_the_other_counts(spark):
    c = contract(
        [
            {"not_null": {"columns": ["plan_tier"]}},
            ACCOUNTS,
            TIERS,
            {"range": {"columns": ["mrr"], "min": 0}},
        ]
    )
    df = spark.createDataFrame(
        [("A1", None, -1, 0, -1), ("A2", "growth", -2, 0, -2), ("A9", "growth", 1, 0, 1)], SCHEMA
    )
    parents = {
        "accounts": spark.createDataFrame([("A1",), ("A1",), ("A1",), ("A2",), ("A2",), (None,)], PARENT_SCHEMA),
        "tiers": spark.createDataFrame([("growth",)] * 3, "tier string"),
    }

    by_name = results_by_name(c, df, parents)
    assert by_name["not_null(plan_tier)"].failing_rows == 1
    assert by_name["range(mrr, 0..)"].failing_rows == 2
    assert by_name[ACCOUNTS_NAME].failing_rows == 1
    assert by_name[TIERS_NAME].failing_rows == 0


def test_parent_key_aliases_do_not_clash_with_the_tables_columns(spark):
    columns = {
        "account_id": {"type": "string", "description": "id"},
        "_parent_key_0": {"type": "string", "description": "a column named like a join alias"},
    }
    c = contract([ACCOUNTS, {"not_null": {"columns": ["_parent_key_0"]}}], columns)
    df = spark.createDataFrame([("A1", None), ("A9", "x")], "account_id string, _parent_key_0 string")
    parents = {"accounts": spark.createDataFrame([("A1",)], PARENT_SCHEMA)}

    by_name = results_by_name(c, df, parents)
    assert by_name[ACCOUNTS_NAME].failing_rows == 1
    assert by_name["not_null(_parent_key_0)"].failing_rows == 1


def test_a_relationship_without_parent_lookup_is_a_contract_error(spark, table):
    with pytest.raises(ContractError, match=r"relationships\(account_id -> accounts.account_id\) needs the parent"):
        run_checks(contract([ACCOUNTS]), table)


def test_unique_failing_count_is_the_number_of_rows_whose_key_repeats(spark):
    c = contract([{"unique": ["account_id"]}, {"unique": {"columns": ["account_id", "plan_tier"]}}])
    df = spark.createDataFrame(
        [
            ("A1", "starter", 1, 0, 1),
            ("A1", "starter", 2, 0, 2),
            ("A1", "growth", 3, 0, 3),
            ("B", "growth", 4, 0, 4),
            (None, "growth", 5, 0, 5),
            (None, "growth", 6, 0, 6),
        ],
        SCHEMA,
    )

    by_name = results_by_name(c, df)
    single = by_name["unique(account_id)"]
    assert single.failing_rows == 3
    assert failing(c, df).count() == single.failing_rows
    assert [s["account_id"] for s in single.samples] == ["A1", "A1", "A1"]
    assert by_name["unique(account_id, plan_tier)"].failing_rows == 2
    assert results_by_name(c, df.where("account_id = 'B'"))["unique(account_id)"].failing_rows == 0


def test_metrics_count_failing_rows_and_observed_counts_are_used(spark, table):
    checks = contract([
        {"not_null": {"columns": ["plan_tier"]}},
        {"unique": ["account_id"]},
        {"range": {"columns": ["mrr"], "min": 15}},
    ])
    bad = spark.createDataFrame(ROWS + [("A4", None, 1, 0, 1)], SCHEMA)

    frame, metrics = flagged(checks, bad)
    assert frame.agg(*metrics).first().asDict() == {"check_0": 1, "check_1": 0, "check_2": 2}  # named by position
    # Counts observed during the write are taken as given: no aggregation of their own.
    observed = {r.check: r.failing_rows for r in results(checks, table, {"check_0": 0, "check_1": 0, "check_2": 7})}
    assert observed == {"schema(columns and types match the contract)": 0, "not_null(plan_tier)": 0,
                        "unique(account_id)": 0, "range(mrr, 15..)": 7}


# --- keyed checks observed on the write ----------------------------------------------

KEYED_ROWS = [
    ("A1", "starter", 1, 0, 1),
    ("A1", "starter", 2, 0, 2),  # A1 repeats: both rows fail unique(account_id)
    ("A9", "gold", 3, 0, 3),  # unknown account, unknown tier
    (None, "growth", 4, 0, 4),  # a null key neither repeats nor is an orphan
    (None, "growth", 5, 0, 5),
]


def keyed_setup(spark):
    c = contract([{"unique": ["account_id"]}, ACCOUNTS, {"not_null": {"columns": ["plan_tier"]}}, TIERS])
    parents = {
        "accounts": spark.createDataFrame([("A1",), ("A1",), ("A2",)], PARENT_SCHEMA),  # a repeated parent key
        "tiers": spark.createDataFrame([("starter",), ("growth",)], "tier string"),
    }
    return c, spark.createDataFrame(KEYED_ROWS, SCHEMA), parents


def test_keyed_flags_count_what_run_checks_counts_and_keep_every_row(spark):
    c, df, parents = keyed_setup(spark)

    frame, metrics = flagged(c, df, parents.get)
    observed = frame.agg(*metrics).first().asDict()

    # Named by the checks' positions (index 2 is the row-level not_null check).
    assert observed == {"check_0": 2, "check_1": 1, "check_2": 0, "check_3": 1}
    by_query = {r.check: r.failing_rows for r in run_checks(c, df, parents.get)}
    assert [observed["check_0"], observed["check_1"], observed["check_3"]] == [
        by_query["unique(account_id)"], by_query[ACCOUNTS_NAME], by_query[TIERS_NAME]]
    # The parents' repeated keys do not duplicate rows: the write keeps exactly df's rows.
    assert_df_equality(frame.select(*df.columns), df, ignore_row_order=True)


def test_observed_keyed_counts_are_used_and_a_failing_one_still_gets_samples(spark):
    c, df, parents = keyed_setup(spark)

    observed = {"check_0": 2, "check_1": 0, "check_2": 0, "check_3": 0}
    by_name = {r.check: r for r in results(c, df, observed, parents.get)}

    assert by_name[ACCOUNTS_NAME].failing_rows == 0  # taken as given: no query disagrees with it
    assert by_name["unique(account_id)"].failing_rows == 2
    assert [s["account_id"] for s in by_name["unique(account_id)"].samples] == ["A1", "A1"]


def test_a_models_rows_per_key_column_replaces_the_window_for_the_contract_key(spark):
    c = contract([{"unique": ["account_id"]}, {"unique": {"columns": ["account_id", "plan_tier"]}}])
    columns = ["account_id", "plan_tier", "mrr", "previous_mrr", "change", ROWS_PER_KEY]
    # The model says A1 has 3 accepted rows per key although only one is here: its count wins.
    df = spark.createDataFrame([("A1", "starter", 1, 0, 1, 3), ("B", "growth", 2, 0, 2, 1)], columns)

    frame, metrics = flagged(c, df)
    observed = frame.agg(*metrics).first().asDict()

    assert observed == {"check_0": 1, "check_1": 0}  # the other key is counted by its own window
