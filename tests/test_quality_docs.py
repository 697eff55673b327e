"""``novacrm docs``: a Markdown catalog of every table, column, description, check and lineage."""

from __future__ import annotations

from click.testing import CliRunner

from novacrm_spark.cli import main
from novacrm_spark.quality.contracts import default_contracts
from novacrm_spark.quality.docs import write_catalog


def test_catalog_has_an_index_and_a_page_per_table(tmp_path):
    contracts = default_contracts()

    pages = write_catalog(tmp_path, contracts)

    assert pages[0] == tmp_path / "index.md"
    assert {p.relative_to(tmp_path).as_posix() for p in pages[1:]} == {
        f"{layer}/{name}.md" for layer, name in contracts.tables
    }
    index = pages[0].read_text(encoding="utf-8")
    assert f"{contracts.total_checks} declared checks" in index
    assert "| [fct_revenue](core/fct_revenue.md) | 42 | The MRR ledger:" in index


def test_table_page_lists_columns_checks_and_lineage(tmp_path):
    write_catalog(tmp_path)
    page = (tmp_path / "core" / "fct_revenue.md").read_text(encoding="utf-8")

    assert page.startswith("# core.fct_revenue\n")
    assert "- Upstream: [stg_accounts](../staging/stg_accounts.md), [stg_invoices](../staging/stg_invoices.md)" in page
    assert "[nrr_summary](../marts/nrr_summary.md)" in page.split("- Downstream:")[1].splitlines()[0]
    assert (
        "| `mrr` | decimal(18,2) | Billed MRR of the month; 0 on churn rows. | `not_null(mrr)`<br>`range(mrr, 0..)` |"
        in page
    )
    assert "- `expression(ledger_invariant)`: `mrr = previous_mrr + new_mrr" in page


def test_staging_pages_link_their_quarantine_table_and_warn_checks_are_marked(tmp_path):
    write_catalog(tmp_path)
    events = (tmp_path / "staging" / "stg_usage_events.md").read_text(encoding="utf-8")
    quarantine = (tmp_path / "quarantine" / "usage_events.md").read_text(encoding="utf-8")

    assert "- Upstream: `raw_usage_events.csv`, [stg_accounts](../staging/stg_accounts.md)" in events
    assert "[quarantine.usage_events](../quarantine/usage_events.md)" in events
    assert "`expression(event_name_known)`: `event_category <> 'other'` **warn**" in events
    assert "- Written by: [stg_usage_events](../staging/stg_usage_events.md) (rejected rows)" in quarantine


def test_docs_command(tmp_path):
    out = tmp_path / "catalog"

    result = CliRunner().invoke(main, ["docs", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Wrote {len(default_contracts().tables) + 1} page(s) to {out}")
    assert (out / "marts" / "customer_health_scores.md").is_file()
