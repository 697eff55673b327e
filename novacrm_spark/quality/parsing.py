"""Parse one table's contract (a mapping read from YAML) strictly, naming the file, table and problem.

The format is described in :mod:`novacrm_spark.quality.contracts`.

Example::

    >>> body = {"description": "Accounts.", "columns": {"account_id": {
    ...     "type": "string", "description": "The id.", "checks": ["not_null", "unique"]}}}
    >>> [c.name for c in parse_table("staging", "stg_accounts", body, "stg_accounts.yml").checks]
    ['not_null(account_id)', 'unique(account_id)']
"""

from __future__ import annotations

from typing import Any, Mapping

from novacrm_spark import domains
from novacrm_spark.quality.tables import (
    CHECK_KINDS,
    DATE_TYPES,
    PLACEHOLDERS,
    SEVERITIES,
    Check,
    ColumnContract,
    ContractError,
    Freshness,
    TableContract,
)

# A column whose spec is this word is described once, in models/shared_columns.yml.
SHARED = "shared"

# Which options each check kind accepts (besides columns, severity and description).
_OPTIONS = {
    "not_null": set(),
    "unique": set(),
    "accepted_values": {"values", "domain", "patterns"},
    "relationships": {"to", "field"},
    "range": {"min", "max"},
    "expression": {"name", "sql", "null_passes"},
}


def parse_table(
    layer: str, name: str, body: Mapping[str, Any], source: str, shared: Mapping[str, Any] | None = None
) -> TableContract:
    """One table's contract; ``shared`` holds the shared columns a column may name with ``shared``."""
    where = f"{source}: {layer}.{name}"
    if not isinstance(body, Mapping) or not str(body.get("description") or "").strip():
        raise ContractError(f"{where}: needs a description")
    unknown = set(body) - {"description", "columns", "checks", "freshness"}
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    columns, checks = [], []
    for column, spec in (body.get("columns") or {}).items():
        spec = _shared_column(spec, column, shared or {}, where)
        if not isinstance(spec, Mapping) or not str(spec.get("description") or "").strip() or not spec.get("type"):
            raise ContractError(f"{where}.{column}: every column needs a type and a description")
        columns.append(ColumnContract(column, str(spec["type"]), _text(spec["description"])))
        checks.extend(parse_check(entry, f"{where}.{column}", column) for entry in spec.get("checks") or [])
    checks.extend(parse_check(entry, where, None) for entry in body.get("checks") or [])
    freshness = parse_freshness(body["freshness"], where, layer) if "freshness" in body else None
    contract = TableContract(layer, name, _text(body["description"]), tuple(columns), tuple(checks), source, freshness)
    _validate_table(contract, where)
    return contract


def parse_freshness(entry: Any, where: str, layer: str) -> Freshness:
    """``{column: event_date, max_staleness_days: 2, severity: error, description: why}`` (staging only)."""
    where = f"{where}: freshness"
    if layer != "staging":
        raise ContractError(f"{where}: only a staging model's contract gives its source a freshness limit")
    if not isinstance(entry, Mapping):
        raise ContractError(f"{where}: a mapping of column, max_staleness_days, severity and description")
    unknown = set(entry) - {"column", "max_staleness_days", "severity", "description"}
    days, severity = entry.get("max_staleness_days"), entry.get("severity", "error")
    problem = None
    if unknown:
        problem = f"unknown key(s) {', '.join(sorted(map(str, unknown)))}"
    elif not entry.get("column") or not str(entry.get("description") or "").strip():
        problem = "needs a column and a description (why this limit)"
    elif isinstance(days, bool) or not isinstance(days, int) or days < 0:
        problem = f"max_staleness_days must be a whole number of days >= 0; got {days!r}"
    elif severity not in SEVERITIES:
        problem = f"severity must be error or warn; got {severity!r}"
    if problem:
        raise ContractError(f"{where}: {problem}")
    return Freshness(str(entry["column"]), days, severity, _text(entry["description"]))


def parse_check(entry: Any, where: str, column: str | None) -> Check:
    """``"not_null"`` or ``{kind: options}`` -> :class:`Check` (``column`` set for column-level checks)."""
    if isinstance(entry, str):
        kind, options = entry, {}
    elif isinstance(entry, Mapping) and len(entry) == 1:
        kind, options = next(iter(entry.items()))
    else:
        raise ContractError(f"{where}: a check is a name or a one-key mapping; got {entry!r}")
    if kind not in CHECK_KINDS:
        raise ContractError(f"{where}: unknown check {kind!r}; known: {', '.join(CHECK_KINDS)}")
    options = _normalise_options(kind, options, where)
    unknown = set(options) - _OPTIONS[kind] - {"columns", "severity", "description"}
    if unknown:
        raise ContractError(f"{where}: check {kind} does not take {', '.join(sorted(unknown))}")
    severity = options.get("severity", "error")
    if severity not in SEVERITIES:
        raise ContractError(f"{where}: check {kind}: severity must be error or warn; got {severity!r}")
    check = Check(
        kind=kind,
        columns=tuple(options.get("columns") or ((column,) if column else ())),
        severity=severity,
        values=_values(options, where),
        patterns=tuple(str(p) for p in options.get("patterns") or ()),
        to=options.get("to"),
        field=options.get("field") or (column if kind == "relationships" else None),
        min=options.get("min"),
        max=options.get("max"),
        sql=_text(options["sql"]) if "sql" in options else None,
        label=options.get("name"),
        null_passes=bool(options.get("null_passes", False)),
        description=options.get("description"),
    )
    _validate_check(check, where)
    return check


def domain_values(name: str, where: str) -> tuple[Any, ...]:
    """The values of a named domain of :mod:`novacrm_spark.domains`: ``plan_tiers`` -> ``PLAN_TIERS``."""
    values = getattr(domains, name.upper(), None) if name.islower() else None
    if not isinstance(values, tuple):
        known = sorted(n.lower() for n, v in vars(domains).items() if n.isupper() and isinstance(v, tuple))
        raise ContractError(f"{where}: unknown domain {name!r}; known: {', '.join(known)}")
    return values


def _shared_column(spec: Any, column: str, shared: Mapping[str, Any], where: str) -> Any:
    if spec != SHARED:
        return spec
    if column not in shared:
        raise ContractError(f"{where}.{column}: no shared column {column!r} in shared_columns.yml")
    return shared[column]


def _values(options: Mapping[str, Any], where: str) -> tuple[Any, ...]:
    """accepted_values: its own ``values``, or those of its ``domain`` (not both)."""
    if "domain" not in options:
        return tuple(options.get("values") or ())
    if "values" in options:
        raise ContractError(f"{where}: check accepted_values takes values or a domain, not both")
    return domain_values(str(options["domain"]), where)


def _normalise_options(kind: str, options: Any, where: str) -> dict[str, Any]:
    """Shorthands: ``accepted_values: [a, b]``, ``unique: [a, b]``, ``relationships: model.column``."""
    if options is None:
        return {}
    if isinstance(options, list):
        if kind == "accepted_values":
            return {"values": options}
        if kind == "unique":
            return {"columns": options}
    if isinstance(options, str) and kind == "relationships" and "." in options:
        to, field = options.split(".", 1)
        return {"to": to, "field": field}
    if not isinstance(options, Mapping):
        raise ContractError(f"{where}: check {kind}: options must be a mapping; got {options!r}")
    return dict(options)


def _validate_check(check: Check, where: str) -> None:
    problem = None
    if not check.columns and check.kind != "expression":
        problem = "needs a column (declare it under the column, or give columns:)"
    elif check.kind == "accepted_values" and not check.values:
        problem = "needs values or a domain"
    elif check.kind == "relationships" and not check.to:
        problem = "needs to: <parent model>"
    elif check.kind == "range" and check.min is None and check.max is None:
        problem = "needs min and/or max"
    elif check.kind == "expression" and not (check.label and check.sql):
        problem = "needs name and sql"
    elif check.placeholders - set(PLACEHOLDERS):
        problem = f"unknown placeholder(s) {sorted(check.placeholders - set(PLACEHOLDERS))}; known: {PLACEHOLDERS}"
    if problem:
        raise ContractError(f"{where}: check {check.kind}: {problem}")


def _validate_table(contract: TableContract, where: str) -> None:
    known = set(contract.column_names)
    seen: set[str] = set()
    for check in contract.checks:
        missing = [c for c in check.columns if c not in known]
        if missing:
            raise ContractError(f"{where}: check {check.name} names undeclared column(s) {', '.join(missing)}")
        if check.name in seen:
            raise ContractError(f"{where}: check {check.name} is declared twice")
        seen.add(check.name)
        if check.placeholders and contract.layer not in ("core", "marts"):
            raise ContractError(f"{where}: check {check.name}: placeholders are for core and marts only")
    freshness = contract.freshness
    types = {c.name: c.type for c in contract.columns}
    if freshness is not None and types.get(freshness.column) not in DATE_TYPES:
        raise ContractError(f"{where}: freshness: column {freshness.column!r} must be a declared date or timestamp "
                            "column")


def _text(value: Any) -> str:
    """Folded YAML text as one tidy line."""
    return " ".join(str(value).split())
