"""The optional dependencies (pip extras) and the one error a command gives when its extra is missing.

The wheel needs only its light dependencies; Spark comes from the ``spark`` extra on a
laptop and from the cluster itself on a cluster, so installing the wheel there never
replaces the cluster's own Spark.

Example::

    >>> require_extras("generate")       # None, or ConfigError: ... pip install 'novacrm-spark[generate]'
"""

from __future__ import annotations

import importlib

from novacrm_spark.errors import ConfigError

# The pip extras a command may need, by the modules whose presence tells they are installed.
EXTRAS = {
    "spark": ("pyspark",),  # delta-spark's Python module is needed by engine delta-spark alone
    "generate": ("faker",),
    "report": ("plotly",),
    "connect": ("grpc", "grpc_status", "google.rpc", "zstandard"),
}


def require_extras(*extras: str) -> None:
    """One clear error naming the extra to install when a command's optional dependencies are missing.

    Example: without faker, ``require_extras("generate")`` raises ``ConfigError("... pip install
    'novacrm-spark[generate]'")``.
    """
    for extra in extras:
        for module in EXTRAS[extra]:
            try:
                importlib.import_module(module)
            except ImportError:
                where = " (on a cluster, use the cluster's own Spark)" if extra == "spark" else ""
                raise ConfigError(
                    f"this command needs the {extra} extra ({module} is not installed): "
                    f"pip install 'novacrm-spark[{extra}]'{where}"
                ) from None
