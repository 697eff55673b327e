r"""Quoting for the SQL text the serving layer generates (pure functions, no Spark).

Example::

    >>> print(quote_identifier("my`table"), string_literal("it's"))
    `my``table` 'it\'s'
"""

from __future__ import annotations

# Characters with a meaning in Hadoop path globs; file names are escaped so that
# a glob names exactly the files of one Delta version, nothing more.
GLOB_SPECIALS = "\\*?[]{},^"


def quote_identifier(name: str) -> str:
    """A Spark SQL identifier in backticks (a backtick inside is doubled)."""
    return "`" + name.replace("`", "``") + "`"


def qualified_name(*parts: str) -> str:
    """``catalog.schema.table`` with every part quoted: ``qualified_name("marts", "x")`` -> ``\\`marts\\`.\\`x\\```."""
    return ".".join(quote_identifier(p) for p in parts)


def string_literal(text: str) -> str:
    """A Spark SQL string literal: backslashes and single quotes escaped with a backslash."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def escape_glob(text: str) -> str:
    """``text`` with every Hadoop glob character escaped, so it matches itself only."""
    return "".join("\\" + c if c in GLOB_SPECIALS else c for c in text)


def one_line(text: str) -> str:
    """Whitespace runs (docstring line breaks) collapsed to single spaces."""
    return " ".join(text.split())
