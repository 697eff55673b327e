"""Publishing one staged write of the embedded engine: one delta-rs transaction.

The transaction lands on the version the write was staged against, or not at
all: when another writer committed to the table in between, the commit is
refused with :class:`CommitConflictError` (checked first, and by delta-rs's own
conflict check for a commit racing ours). A commit that fails for any reason
removes the write's files, unless the log took them after all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError
from deltalake.transaction import AddAction, create_table_with_add_actions

from novacrm_spark.quality.constraints import PROPERTY_PREFIX, as_properties, comparable
from novacrm_spark.store._errors import conflict, writing
from novacrm_spark.store._partitions import remove_files_of_write
from novacrm_spark.store._replace import ReplaceBase, partition_columns


@dataclass
class Commit:
    """What a staged write will commit, and the snapshot (None: no table yet) it was staged against."""

    path: str
    name: str  # layer.table, for messages
    table: str
    snapshot: DeltaTable | None
    replace: ReplaceBase | None
    adds: list[AddAction]
    schema: DeltaSchema
    columns: list[str]
    description: str | None
    write_id: str
    properties: dict[str, str]  # the table's configuration (retention), set whenever the metadata is written
    constraints: Mapping[str, str] = field(default_factory=dict)  # CHECK constraints, name -> SQL

    def check(self) -> None:
        """Raise CommitConflictError when the table is no longer at the version the write was staged against."""
        read = self.snapshot.version() if self.snapshot is not None else None
        now = current_version(self.path)
        if now != read:
            raise conflict(self.name, self.path, read, now)

    def run(self) -> int:
        """Commit; returns the new version."""
        with writing(f"table {self.name}", self.path):
            try:
                self.check()
                self._transaction()
            except BaseException:
                self._tidy()
                raise
            return DeltaTable(self.path).version()

    @property
    def commits(self) -> int:
        """How many commits :meth:`run` makes: a second one declares the constraints of new metadata."""
        return 2 if self.constraints and self._replaces_metadata() else 1

    def _replaces_metadata(self) -> bool:
        if self.snapshot is None:
            return True
        return self.replace is None and not self._same_metadata()  # a partition replace keeps the metadata

    def _transaction(self) -> None:
        try:
            if self._replaces_metadata():
                self._replace_metadata()
            elif self.replace is not None:
                # One transaction: remove the replaced partitions' files, add the new ones.
                actions = [*self.replace.removes(), *self.adds]
                self.snapshot.create_write_transaction(
                    actions, mode="append", schema=self.schema, partition_by=self.columns or None
                )
            else:
                self.snapshot.create_write_transaction(
                    self.adds, mode="overwrite", schema=self.schema, partition_by=self.columns or None
                )
        except CommitFailedError:
            raise self._conflict() from None
        except DeltaError:
            if self.snapshot is None and current_version(self.path) is not None:
                raise self._conflict() from None  # another writer created the table first
            raise

    def _same_metadata(self) -> bool:
        """Same schema (column comments included), partitioning, description and properties: a plain data commit."""
        metadata = self.snapshot.metadata()
        return (
            metadata.description == self.description
            and comparable(metadata.configuration) == comparable(self.configuration)
            and partition_columns(self.snapshot) == self.columns
            and self.snapshot.schema().to_json() == self.schema.to_json()
        )

    def _replace_metadata(self) -> None:
        """A new table, or a schema, partitioning, description, properties or constraints change: the metadata
        goes in the same commit. The properties and constraints replace the table's, as delta-spark's CREATE OR
        REPLACE TABLE does."""
        create_table_with_add_actions(
            self.path, self.schema, self.adds,
            # A new table must still be new: "error" refuses one another writer created meanwhile.
            mode="error" if self.snapshot is None else "overwrite",
            partition_by=self.columns or None, name=self.table, description=self.description,
            configuration={k: v for k, v in self.configuration.items() if not k.startswith(PROPERTY_PREFIX)},
        )
        if self.constraints:
            # delta-rs refuses constraints in a new metadata's configuration; ALTER TABLE ADD CONSTRAINT is
            # a second, metadata-only commit (it checks the rows just committed, which the audit passed).
            DeltaTable(self.path).alter.add_constraint(dict(self.constraints))

    @property
    def configuration(self) -> dict[str, str]:
        return {**self.properties, **as_properties(self.constraints)}

    def _conflict(self):
        return conflict(
            self.name, self.path, self.snapshot.version() if self.snapshot is not None else None,
            current_version(self.path),
        )

    def _tidy(self) -> None:
        """After a failed commit: remove this write's files unless the log references them."""
        try:
            files = DeltaTable(self.path).file_uris() if current_version(self.path) is not None else []
            if not any(f"part-{self.write_id}-" in f for f in files):
                remove_files_of_write(self.path, self.write_id)
        except (OSError, DeltaError):
            pass  # cannot tell or cannot remove: unreferenced files are harmless, the first error matters


def current_version(path: str) -> int | None:
    return DeltaTable(path).version() if DeltaTable.is_deltatable(path) else None
