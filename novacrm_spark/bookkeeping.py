"""Columns a staging model's frames carry for the runner's counts, never written.

They sit at the bottom of the import graph: staging models add them, the
quality checks and the runner read them, and none of those import each other
for it.

Example::

    >>> accepted.drop(*BOOKKEEPING).columns   # the table's own columns
"""

# How many accepted rows share a row's key: a column a staging model adds for the
# writer's unique check (counted in its dedupe window, which already groups rows by key).
ROWS_PER_KEY = "_rows_per_key"
# How many identical copies of a source row staging collapsed into it (on one row per key, else 0):
# the runner sums it while writing, so every row of a raw file is accounted for.
COLLAPSED = "_collapsed_copies"
# Every bookkeeping column: the runner drops them when it writes a table.
BOOKKEEPING = (ROWS_PER_KEY, COLLAPSED)
