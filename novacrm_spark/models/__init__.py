"""All models, one module per table; importing this package registers them.

Layers flow one way: raw -> staging -> core -> marts. A mart may read a core
table or an earlier mart, never the reverse.
"""

from novacrm_spark.models import core, marts, staging  # noqa: F401
