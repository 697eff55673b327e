"""The ``novacrm docs`` command: write the Markdown data catalog.

Example::

    novacrm docs --out docs/catalog
"""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--out",
    "out_dir",
    default="docs/catalog",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to write the catalog to (index.md plus one page per table).",
)
def docs(out_dir: str) -> None:
    """Write a browsable catalog of every table: columns, descriptions, checks, lineage."""
    from novacrm_spark.extras import require_extras

    require_extras("spark")  # the contracts' checks are Spark expressions
    from novacrm_spark.quality.docs import write_catalog

    pages = write_catalog(out_dir)
    click.echo(f"Wrote {len(pages)} page(s) to {out_dir} (start at {pages[0]})")
