"""Whether a warehouse is a local folder, and which: the one rule every local-only feature asks."""

import pytest

from novacrm_spark.paths import is_local, local_path


@pytest.mark.parametrize(
    ("warehouse", "local", "path"),
    [
        ("warehouse", True, "warehouse"),
        ("/w/lake", True, "/w/lake"),
        ("file:///w/lake", True, "/w/lake"),
        ("s3a://bucket/lake", False, None),
        ("abfss://c@a.dfs.core.windows.net/lake", False, None),
    ],
)
def test_is_local_and_local_path(warehouse, local, path):
    assert is_local(warehouse) is local
    if local:
        assert local_path(warehouse) == path
