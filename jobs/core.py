"""spark-submit entry point: build the core layer.

    spark-submit jobs/core.py --config conf/local.yaml --as-of 2025-01-31

Takes every option of ``novacrm run`` except --layer; exits non-zero when a model fails.
"""

import sys

from novacrm_spark.cli import main

if __name__ == "__main__":
    main(["run", "--layer", "core", *sys.argv[1:]], prog_name="jobs/core.py")
