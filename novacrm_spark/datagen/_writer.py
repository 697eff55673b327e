"""The five raw CSV files: headers and a streaming writer.

Files are written as ``<name>.tmp`` and renamed into place when every file is
complete, so a failed run never leaves a half-written set behind.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     with RawSink(pathlib.Path(d)) as sink:
...         sink.write(ACCOUNTS, [["ACC-0001", "Acme, Inc", "retail", "12", "starter", "Ann",
...                               "europe", "2024-01-05", "active"]])
...     print(pathlib.Path(d, ACCOUNTS).read_text().splitlines()[1])
ACC-0001,"Acme, Inc",retail,12,starter,Ann,europe,2024-01-05,active
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from types import TracebackType

ACCOUNTS = "raw_accounts.csv"
SUBSCRIPTIONS = "raw_subscriptions.csv"
INVOICES = "raw_invoices.csv"
EVENTS = "raw_usage_events.csv"
TICKETS = "raw_support_tickets.csv"

HEADERS: dict[str, tuple[str, ...]] = {
    ACCOUNTS: ("account_id", "company_name", "industry", "employee_count", "plan_tier",
               "account_owner", "region", "signup_date", "status"),
    SUBSCRIPTIONS: ("subscription_id", "account_id", "product_name", "plan_tier", "mrr_amount",
                    "start_date", "end_date", "status"),
    INVOICES: ("invoice_id", "account_id", "invoice_date", "amount", "currency", "status", "line_items"),
    EVENTS: ("event_id", "account_id", "user_id", "event_name", "event_timestamp", "properties"),
    TICKETS: ("ticket_id", "account_id", "created_at", "resolved_at", "priority", "category",
              "status", "satisfaction_score"),
}


class RawSink:
    """Context manager holding one csv writer per raw file; counts data rows."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.counts = dict.fromkeys(HEADERS, 0)
        self._files = {}
        self._writers = {}

    def __enter__(self) -> RawSink:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, header in HEADERS.items():
            handle = open(self.out_dir / f"{name}.tmp", "w", encoding="utf-8", newline="", buffering=1 << 20)
            self._files[name] = handle
            writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow(header)
            self._writers[name] = writer
        return self

    def write(self, name: str, rows) -> None:
        """Append rows (sequences of str) to file ``name``."""
        rows = rows if isinstance(rows, list) else list(rows)
        self._writers[name].writerows(rows)
        self.counts[name] += len(rows)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for handle in self._files.values():
            handle.close()
        for name in HEADERS:
            tmp = self.out_dir / f"{name}.tmp"
            if exc_type is None:
                os.replace(tmp, self.out_dir / name)
            else:
                tmp.unlink(missing_ok=True)
