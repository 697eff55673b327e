"""The raw exports: facts the runner reads without opening them, and how their records are read."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from chispa import assert_df_equality

from novacrm_spark.models.staging.stg_accounts import stg_accounts
from novacrm_spark.errors import InputFileError
from novacrm_spark.sources import RAW_RECORD, SOURCES, RawFile, list_exports, read_raw


def test_exports_are_listed_with_sizes_in_the_form_given_a_folder_winning_over_a_file(spark, tmp_path):
    (tmp_path / "raw_accounts.csv").write_bytes(b"x" * 120)
    folder = tmp_path / "raw_usage_events"
    folder.mkdir()
    (folder / "2025-01-30.csv").write_bytes(b"y" * 1000)
    (folder / "2025-01-31.csv").write_bytes(b"z" * 500)
    (folder / "notes.txt").write_bytes(b"not an export")
    (tmp_path / "raw_usage_events.csv").write_bytes(b"the folder wins")
    os.utime(folder / "2025-01-30.csv", (1_700_000_000, 1_700_000_000))
    os.utime(folder / "2025-01-31.csv", (1_600_000_000, 1_600_000_000))
    (tmp_path / "raw_support_tickets").mkdir()
    (tmp_path / "raw_support_tickets" / "readme.md").write_bytes(b"no csv here")

    exports = list_exports(spark, str(tmp_path))

    assert (exports["accounts"].location, exports["accounts"].folder, exports["accounts"].size) == (
        f"{tmp_path}/raw_accounts.csv", False, 120)
    usage = exports["usage_events"]
    assert (usage.location, usage.folder, usage.size) == (f"{tmp_path}/raw_usage_events", True, 1500)
    # Oldest first, by modification time (the watermark's order), paths as given.
    assert usage.require_files() == [
        RawFile(1_600_000_000_000, "2025-01-31.csv", f"{tmp_path}/raw_usage_events/2025-01-31.csv", 500),
        RawFile(1_700_000_000_000, "2025-01-30.csv", f"{tmp_path}/raw_usage_events/2025-01-30.csv", 1000),
    ]
    assert exports["invoices"].size == 0
    with pytest.raises(InputFileError, match=f"^{tmp_path}/raw_invoices.csv: file not found "):
        exports["invoices"].require_files()
    with pytest.raises(InputFileError, match=f"^{tmp_path}/raw_support_tickets.csv: file not found "):
        exports["support_tickets"].require_files()


def test_an_input_folder_with_no_exports_lists_every_source_as_missing(spark, tmp_path):
    exports = list_exports(spark, str(tmp_path / "nowhere"))

    assert sorted(exports) == sorted(SOURCES)
    assert all(not e.files and not e.folder for e in exports.values())


# --- reading: RFC 4180 records, and records of the wrong width ----------------------------------

HEADER = ",".join(SOURCES["accounts"].columns)
TAIL = "software,40,growth,Ana,europe,2024-01-10,active"


def test_quoted_commas_quotes_and_line_breaks_stay_one_record_and_wrong_widths_keep_their_text(spark, tmp_path):
    lines = [
        HEADER,
        f'ACC-1,"Acme, Inc\nEMEA",{TAIL}',  # a quoted comma and a quoted line break
        f'ACC-2,"Say ""hi""",{TAIL}',  # doubled quotes
        f"ACC-3,Extra,{TAIL},EXTRA",  # one field too many
        "ACC-4,Short,software,40",  # too few
        f'ACC-5,"two\nlines, and ""quotes""",{TAIL},x',  # too many, with a quoted line break and comma
        "",  # a blank line is no record
        f"ACC-3,Extra,{TAIL}",  # the well-formed ACC-3: no conflict with the bad record above
    ]
    (tmp_path / "raw_accounts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = stg_accounts(read_raw(spark, str(tmp_path), "accounts"), loaded_at=dt.datetime(2025, 2, 1))

    assert_df_equality(
        result.accepted.select("account_id", "company_name", "status"),
        spark.createDataFrame(
            [("ACC-1", "Acme, Inc\nEMEA", "active"), ("ACC-2", 'Say "hi"', "active"), ("ACC-3", "Extra", "active")],
            "account_id string, company_name string, status string",
        ),
        ignore_nullable=True,
        ignore_row_order=True,
    )
    assert_df_equality(
        result.quarantined.select("account_id", "company_name", RAW_RECORD, "reason"),
        spark.createDataFrame(
            [
                (None, None, f"ACC-3,Extra,{TAIL},EXTRA", "wrong number of fields (10, expected 9)"),
                (None, None, "ACC-4,Short,software,40", "wrong number of fields (4, expected 9)"),
                (None, None, f'ACC-5,"two\nlines, and ""quotes""",{TAIL},x', "wrong number of fields (10, expected 9)"),
            ],
            f"account_id string, company_name string, {RAW_RECORD} string, reason string",
        ),
        ignore_nullable=True,
        ignore_row_order=True,
    )


def test_a_header_only_file_is_an_empty_source(spark, tmp_path):
    (tmp_path / "raw_accounts.csv").write_text(HEADER + "\n", encoding="utf-8")

    raw = read_raw(spark, str(tmp_path), "accounts")

    assert raw.schema == SOURCES["accounts"].read_schema
    assert raw.count() == 0
