"""``novacrm ls`` and the selection options of ``novacrm run``: answered, or refused, before Spark starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

from novacrm_spark.cli import main

ROOT = Path(__file__).resolve().parents[1]


def novacrm(*args: str, blocked: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """The CLI in its own process, printing on its last stdout line whether pyspark was ever imported."""
    code = (
        "import sys; " + "".join(f"sys.modules[{m!r}] = None; " for m in blocked)
        + "from novacrm_spark.cli import main\n"
        "try:\n    main(sys.argv[1:], prog_name='novacrm')\n"
        "finally:\n    print('pyspark imported:', any(m.startswith('pyspark') and sys.modules[m] for m in sys.modules))"
    )
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def assert_one_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]
    assert "Traceback" not in result.output


def test_ls_prints_every_model_in_build_order():
    from novacrm_spark.registry import all_models, topological_order

    result = CliRunner().invoke(main, ["ls"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{m.layer}.{m.name}" for m in topological_order(all_models())]


def test_ls_selects_upstream_downstream_and_excludes():
    runner = CliRunner()

    assert runner.invoke(main, ["ls", "--select", "+fct_usage"]).stdout.splitlines() == [
        "staging.stg_accounts", "staging.stg_usage_events", "core.fct_usage"]
    result = runner.invoke(main, ["ls", "--select", "fct_revenue+", "--exclude", "churn_risk_view nrr_summary"])
    assert result.stdout.splitlines() == [
        "core.fct_revenue", "marts.customer_health_scores", "marts.revenue_cohort_analysis"]
    result = runner.invoke(main, ["ls", "--layer", "staging", "--select", "+dim_account", "--select", "stg_invoices"])
    assert result.stdout.splitlines() == [
        "staging.stg_accounts", "staging.stg_invoices", "staging.stg_subscriptions", "staging.stg_support_tickets"]


def test_ls_of_an_empty_selection_prints_no_model_and_says_so():
    result = CliRunner().invoke(main, ["ls", "--select", "nrr_summary,sla_adherence"])

    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "No model matches the selection\n"


def test_an_unknown_model_is_one_error_line_naming_close_matches():
    result = CliRunner().invoke(main, ["ls", "--select", "fct_revnue+"])
    assert_one_error(result, "--select 'fct_revnue+': no model named 'fct_revnue'; did you mean fct_revenue")

    result = CliRunner().invoke(main, ["ls", "--exclude", "churn_risk"])
    assert_one_error(result, "--exclude 'churn_risk': no model named 'churn_risk'; did you mean churn_risk_view?")


def test_ls_help_explains_the_syntax():
    result = CliRunner().invoke(main, ["ls", "--help"])

    assert result.exit_code == 0
    for text in ("+NAME ", "NAME+ ", "+NAME+", "A,B", "--exclude", "novacrm ls --select +churn_risk_view"):
        assert text in result.stdout


def test_ls_needs_no_pyspark():
    done = novacrm("ls", "--select", "nrr_summary+", blocked=("pyspark",))

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["marts.nrr_summary", "pyspark imported: False"]


def test_run_with_an_unknown_model_fails_before_pyspark_is_imported(tmp_path):
    warehouse = tmp_path / "wh"
    done = novacrm("run", "--select", "nosuchmodel", "--warehouse", str(warehouse))

    assert done.returncode == 2
    assert done.stderr == "error: --select 'nosuchmodel': no model named 'nosuchmodel'; novacrm ls lists the models\n"
    assert done.stdout == "pyspark imported: False\n"  # so no JVM either
    assert not warehouse.exists()


def test_run_with_an_empty_selection_builds_nothing_and_starts_no_spark(tmp_path):
    warehouse = tmp_path / "wh"
    done = novacrm("run", "--layer", "staging", "--select", "marts", "--warehouse", str(warehouse))

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("Nothing to run: the selection matches no model")
    assert done.stderr == "" and not warehouse.exists()  # no JVM start-up line, no lock file


def test_run_passes_the_resolved_selection_to_the_runner(tmp_path, monkeypatch):
    import novacrm_spark.run.runner as runner
    import novacrm_spark.session as session

    calls = {}

    def fake_run_pipeline(spark, settings, **kwargs):
        calls.update(kwargs, spark=spark)
        return SimpleNamespace(ok=True)

    monkeypatch.setattr(session, "build_spark_session", lambda settings, verbose: "no spark")
    monkeypatch.setattr(runner, "run_pipeline", fake_run_pipeline)
    config = tmp_path / "conf.yaml"
    config.write_text("engine: embedded\n")

    result = CliRunner().invoke(main, ["run", "--config", str(config), "--warehouse", str(tmp_path / "wh"),
                                       "--select", "+fct_usage+", "--exclude", "stg_accounts churn_risk_view"])

    assert result.exit_code == 0, result.output
    assert calls["models"] == ["stg_usage_events", "fct_usage", "customer_health_scores"]
    assert calls["spark"] == "no spark"
