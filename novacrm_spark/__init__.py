"""NovaCRM Spark: NovaCRM raw exports -> Delta Lake staging, core and mart tables.

The package is organised along the pipeline:

* :mod:`novacrm_spark.config`   typed settings (YAML + env + CLI overrides)
* :mod:`novacrm_spark.session`  the SparkSession factory
* :mod:`novacrm_spark.store`    the Delta table store (delta-spark or embedded delta-rs)
* :mod:`novacrm_spark.sources`  raw CSV contracts and strict readers
* :mod:`novacrm_spark.columns`  reusable ``Column`` helpers (business rules)
* :mod:`novacrm_spark.models`   one module per table, staging -> core -> marts
* :mod:`novacrm_spark.registry` the model DAG, found by scanning the model packages
* :mod:`novacrm_spark.run`      a run: inputs, schedule, write-audit-publish, the run manifest, locks
* :mod:`novacrm_spark.cli`      the ``novacrm`` command
"""

__version__ = "0.1.0"
