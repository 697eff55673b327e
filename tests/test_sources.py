"""Facts about the raw exports that the runner reads without opening them."""

from __future__ import annotations

from novacrm_spark.sources import source_bytes


def test_source_bytes_is_the_file_size_or_the_sum_over_a_folder_and_zero_when_missing(spark, tmp_path):
    (tmp_path / "raw_accounts.csv").write_bytes(b"x" * 120)
    folder = tmp_path / "raw_usage_events"
    folder.mkdir()
    (folder / "2025-01-30.csv").write_bytes(b"y" * 1000)
    (folder / "2025-01-31.csv").write_bytes(b"z" * 500)

    assert source_bytes(spark, str(tmp_path), "accounts") == 120
    assert source_bytes(spark, str(tmp_path), "usage_events") == 1500
    assert source_bytes(spark, str(tmp_path), "invoices") == 0
