"""Table upkeep: retention as table properties (:mod:`novacrm_spark.retention`) and ``novacrm vacuum``."""
