"""The published snapshot a partition replace starts from (embedded engine).

A partition replace commits, in one transaction, ``remove`` actions for every
file of the replaced partitions in this snapshot plus the ``add`` actions of
the new files; the files of the other partitions are kept.
"""

from __future__ import annotations

import time

import pyarrow as pa
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import RemoveAction

from novacrm_spark.store._partitions import partition_dir, partition_value
from novacrm_spark.store.base import StoreError


class ReplaceBase:
    """The published snapshot a partition replace starts from: which files it removes and keeps."""

    def __init__(self, snapshot: DeltaTable | None, name: str, columns: list[str], replace: set) -> None:
        self.snapshot = snapshot
        self.name = name
        self.columns = columns
        self.replace = replace
        self.removed: list[tuple[str, int, dict]] = []
        self.kept_paths: list[str] = []
        if snapshot is not None:
            self._split_files()

    @classmethod
    def of(
        cls, snapshot: DeltaTable | None, name: str, columns: list[str], replace: set, schema: DeltaSchema
    ) -> "ReplaceBase":
        if not columns:
            raise StoreError(f"{name}: replacing partitions needs partition_by columns")
        if snapshot is None:
            return cls(None, name, columns, replace)  # first write: the new files are the whole table
        if partition_columns(snapshot) != columns:
            raise StoreError(
                f"{name}: cannot replace partitions: the table is partitioned by "
                f"{partition_columns(snapshot) or 'nothing'}, not {columns}; run a full build"
            )
        if snapshot.schema().to_json() != schema.to_json():
            raise StoreError(f"{name}: cannot replace partitions: the new rows' schema differs from the table's; "
                             "run a full build")
        return cls(snapshot, name, columns, replace)

    def _split_files(self) -> None:
        actions = pa.table(self.snapshot.get_add_actions(flatten=False)).to_pylist()
        for action in actions:
            values = action.get("partition") or {}
            key = tuple(partition_value(values.get(c)) for c in self.columns)
            if key in self.replace:
                text_values = dict(zip(self.columns, key))
                self.removed.append((action["path"], action["size_bytes"], text_values))
            else:
                self.kept_paths.append(action["path"])

    def check_files(self, files) -> None:
        """Every new file must fall in a replaced partition, or it would duplicate a kept one's rows."""
        for f in files:
            key = tuple(f.partition_values.get(c) for c in self.columns)
            if key not in self.replace:
                raise StoreError(
                    f"{self.name}: staged rows fall in partition {partition_dir(self.columns, key)}, "
                    "which is not among the partitions being replaced"
                )

    def removes(self) -> list[RemoveAction]:
        # deletion_timestamp is log bookkeeping (vacuum retention), not table data.
        now = int(time.time() * 1000)
        return [
            RemoveAction(path=p, data_change=True, deletion_timestamp=now, size=size, partition_values=values)
            for p, size, values in self.removed
        ]


def partition_columns(snapshot: DeltaTable) -> list[str]:
    return list(snapshot.metadata().partition_columns)
