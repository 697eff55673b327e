"""Typed run settings: a YAML file, then ``NOVACRM_*`` environment variables, then CLI flags.

Example::

    >>> settings = load_settings("conf/local.yaml", overrides={"as_of_date": "2025-01-31"})
    >>> settings.as_of_date
    datetime.date(2025, 1, 31)

Later sources win: file < environment < explicit overrides. Every value is
validated when loaded and a bad one raises :class:`ConfigError` naming it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from novacrm_spark.errors import ConfigError
from novacrm_spark.retention import DEFAULT_DELETED_FILE_RETENTION, DEFAULT_LOG_RETENTION, check_retention_settings

ENGINES = ("auto", "embedded", "delta-spark")
ENV_PREFIX = "NOVACRM_"
DEFAULT_CONFIG = "conf/local.yaml"
PACKAGED_PRODUCTS = "products.yaml"  # package data, used unless products_file names another catalog
# Settings that are one piece of text (an empty YAML value becomes "" and is refused as empty).
TEXT_SETTINGS = ("master", "remote", "app_name", "engine", "input_dir", "warehouse")
REMOTE_URL = re.compile(r"sc://[^\s/]+(/.*)?")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Product:
    """One sellable product of the catalog (prices and names are configuration, not code)."""

    name: str
    display_name: str
    product_type: str  # platform | addon
    feature_category: str
    # platform: price per plan tier; add-on: {"all": price}
    list_price_mrr: Mapping[str, float]


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; build it with :func:`load_settings`."""

    master: str = "local[*]"
    # A Spark Connect server (sc://host:port): Spark runs there, this process is only its client.
    remote: str | None = None
    app_name: str = "novacrm-spark"
    input_dir: str = "data/raw"
    warehouse: str = "warehouse"
    engine: str = "auto"
    as_of_date: dt.date | None = None
    shuffle_partitions: int = 4
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    products: tuple[Product, ...] = ()
    max_quarantine_fraction: float = 0.05
    catalog: Mapping[str, Any] = field(default_factory=dict)
    # Models built at the same time once their inputs are staged (1 = one after the other).
    parallel_models: int = 3
    # Table properties of every published table (Delta's interval syntax, see novacrm_spark.retention).
    log_retention: str = DEFAULT_LOG_RETENTION
    deleted_file_retention: str = DEFAULT_DELETED_FILE_RETENTION  # also novacrm vacuum's shortest window

    def __post_init__(self) -> None:
        check_retention_settings(self.log_retention, self.deleted_file_retention)
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {self.engine!r}")
        if self.shuffle_partitions < 1:
            raise ConfigError(f"shuffle_partitions must be >= 1; got {self.shuffle_partitions!r}")
        if self.parallel_models < 1:
            raise ConfigError(f"parallel_models must be >= 1; got {self.parallel_models!r}")
        if not 0 <= self.max_quarantine_fraction <= 1:
            raise ConfigError(
                f"max_quarantine_fraction must be between 0 and 1; got {self.max_quarantine_fraction!r}"
            )
        if self.remote is not None and not REMOTE_URL.fullmatch(self.remote):
            # Not echoed: a Connect URL may carry a token (sc://host/;token=...).
            raise ConfigError("remote must be a Spark Connect URL: sc://host[:port][/;param=value...]")
        for name in ("master", "app_name", "input_dir", "warehouse"):
            if not getattr(self, name):
                raise ConfigError(f"{name} must not be empty")

    def product(self, name: str) -> Product:
        for product in self.products:
            if product.name == name:
                return product
        raise ConfigError(f"product {name!r} is not in the configured product catalog")


def remote_url(settings: Settings) -> str | None:
    """The Spark Connect server to use: the ``remote`` setting, else pyspark's own ``SPARK_REMOTE``; None: classic."""
    return settings.remote or os.environ.get("SPARK_REMOTE") or None


def load_settings(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings from ``config_file`` (YAML), the environment and ``overrides``.

    ``overrides`` with a ``None`` value are ignored, so CLI options that were not
    given leave the file's value alone.
    """
    values: dict[str, Any] = {}
    base_dir = Path.cwd()
    if config_file is not None:
        path = Path(config_file)
        values.update(_read_yaml(path))
        base_dir = path.parent
    values.update(_from_environment(os.environ if environ is None else environ))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _build(values, base_dir)


class _SettingsLoader(yaml.SafeLoader):
    """Safe YAML whose dates stay text, so ``2024-02-30`` reaches our own check (PyYAML would crash on it)."""


_SettingsLoader.add_constructor("tag:yaml.org,2002:timestamp", _SettingsLoader.construct_yaml_str)


def _read_yaml(path: Path, what: str = "config file") -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_SettingsLoader) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML{_yaml_position(exc)}") from None
    except UnicodeDecodeError as exc:  # before ValueError, of which it is one
        raise ConfigError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None
    except ValueError:  # e.g. `!!int abc`; the exception's text would echo the value
        raise ConfigError(f"{what} {path} is not valid YAML: a tagged value does not fit its tag") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path} cannot be read: {exc.strerror}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{what} {path} must hold a mapping of settings")
    return content


def _yaml_position(exc: yaml.YAMLError) -> str:
    """Where and what, but never PyYAML's snippet of the line: it may hold a secret."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None)
    return f"{where}: {problem}" if problem else where


def _from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    names = {f.name for f in dataclasses.fields(Settings)} - {"products", "spark_conf", "catalog"}
    return {
        key[len(ENV_PREFIX):].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):].lower() in names
    }


def _build(values: dict[str, Any], base_dir: Path) -> Settings:
    known = {f.name for f in dataclasses.fields(Settings)} | {"products_file"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    products_file = values.pop("products_file", None)
    if products_file is not None:
        path = base_dir / _as_text("products_file", products_file)
        values["products"] = _read_yaml(path, "product catalog").get("products") or _no_products(f"product catalog {path}")
    elif "products" not in values:
        values["products"] = _packaged_products()
    if "as_of_date" in values:
        values["as_of_date"] = parse_as_of(values["as_of_date"])
    for name in ("shuffle_partitions", "parallel_models"):
        if name in values:
            values[name] = _as_int(name, values[name])
    if "max_quarantine_fraction" in values:
        values["max_quarantine_fraction"] = _as_float("max_quarantine_fraction", values["max_quarantine_fraction"])
    values["products"] = tuple(_product(entry) for entry in _as_list("products", values["products"]))
    if not values["products"]:
        _no_products("the products setting")
    for name in TEXT_SETTINGS:
        if name in values:
            values[name] = _as_text(name, values[name])
    if values.get("remote") == "":
        values["remote"] = None  # an empty YAML value: no Spark Connect
    values["catalog"] = dict(_as_mapping("catalog", values.get("catalog")))
    values["spark_conf"] = {
        str(k): _as_text(f"spark_conf.{k}", v) for k, v in _as_mapping("spark_conf", values.get("spark_conf")).items()
    }
    return Settings(**values)


def _packaged_products() -> list[Any]:
    """The catalog shipped in the package (``novacrm_spark/products.yaml``)."""
    catalog = resources.files("novacrm_spark").joinpath(PACKAGED_PRODUCTS)
    if not catalog.is_file():
        raise ConfigError(
            f"the product catalog {PACKAGED_PRODUCTS} is missing from the installed package; "
            "reinstall novacrm-spark, or set products_file to a catalog of your own"
        )
    with resources.as_file(catalog) as path:
        return _read_yaml(path, "product catalog").get("products") or _no_products(f"product catalog {path}")


def _no_products(where: str) -> list[Any]:
    raise ConfigError(f"{where} lists no products; dim_product and every revenue table need the catalog")


def parse_as_of(value: Any) -> dt.date | None:
    """The as-of date: ``YYYY-MM-DD`` text or a date; empty means "the latest date in the data"."""
    if value is None or value == "":
        return None
    return parse_date("as_of_date", value)


def parse_date(name: str, value: Any) -> dt.date:
    """``YYYY-MM-DD`` and nothing else (not ``20240131``, which ``date.fromisoformat`` would take).

    Example: ``parse_date("--as-of", "2024-02-30")`` raises ``ConfigError("--as-of must be a real date ...")``.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not DATE_TEXT.fullmatch(value):
        raise ConfigError(f"{name} must be YYYY-MM-DD; got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a real date (YYYY-MM-DD); got {value!r}: {exc}") from None


def _as_int(name: str, value: Any) -> int:
    # A bool or 2.5 would pass int() silently.
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigError(f"{name} must be an integer; got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an integer; got {value!r}") from None


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number; got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number; got {value!r}") from None


def _as_text(name: str, value: Any) -> str:
    """A single value as text; an empty YAML value is empty text, not ``'None'``."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple, set)):
        raise ConfigError(f"{name} must be a single value; got {value!r}")
    return str(value)


def _as_mapping(name: str, value: Any) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a mapping of names to values; got {value!r}")
    return value


def _as_list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{name} must be a list; got {value!r}")
    return value


def _product(entry: Any) -> Product:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"product catalog entry {entry!r} must be a mapping")
    try:
        prices = entry["list_price_mrr"]
        if not isinstance(prices, Mapping):
            prices = {"all": prices}
        return Product(
            name=str(entry["name"]),
            display_name=str(entry["display_name"]),
            product_type=str(entry["product_type"]),
            feature_category=str(entry["feature_category"]),
            list_price_mrr={str(k): float(v) for k, v in prices.items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"product catalog entry {dict(entry)!r} is invalid: {exc}") from None
