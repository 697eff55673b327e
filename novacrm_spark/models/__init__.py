"""All models, one module per table, in one package per layer: staging, core, marts.

Layers flow one way: raw -> staging -> core -> marts. A mart may read a core
table or an earlier mart, never the reverse. Nothing here lists the models:
:func:`novacrm_spark.registry.all_models` finds every ``@model`` function in
the layer packages' modules (``_*`` modules hold shared helpers).
"""
