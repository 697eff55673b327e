#!/usr/bin/env bash
# Submit NovaCRM Spark layers with spark-submit.
#
#   ./spark-submit.sh <staging|core|marts|all> [novacrm run options...]
#   ./spark-submit.sh all --config conf/local.yaml --as-of 2025-01-31
#
# Environment:
#   SPARK_MASTER         --master for spark-submit (default: spark-submit's own, local[*])
#   SPARK_SUBMIT_ARGS    extra spark-submit arguments, word-split (e.g. "--driver-memory 4g")
#   DELTA_SPARK_PACKAGE  e.g. io.delta:delta-spark_2.13:4.0.1: adds --packages and Delta's
#                        session extensions, so the delta-spark engine is used
#   SPARK_SUBMIT         the spark-submit executable (default: spark-submit on PATH)
#   SPARK_LOG_LEVEL      Spark log level (default WARN)
# "all" runs staging, core and marts in order and stops at the first failing layer.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  usage
  exit $([[ $# -lt 1 ]] && echo 2 || echo 0)
fi
target=$1
shift
case "$target" in
  staging|core|marts) layers=("$target") ;;
  all) layers=(staging core marts) ;;
  *) echo "error: unknown layer '$target' (expected staging, core, marts or all)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")"
submit=${SPARK_SUBMIT:-spark-submit}
command -v "$submit" >/dev/null || { echo "error: $submit not found; pip install -e . puts it on PATH" >&2; exit 2; }
python=${PYSPARK_PYTHON:-$(command -v python3 || command -v python)}
export PYSPARK_PYTHON=$python PYSPARK_DRIVER_PYTHON=${PYSPARK_DRIVER_PYTHON:-$python}

# Ship the package to the executors as a zip on --py-files.
mkdir -p build
rm -f build/novacrm_spark.zip
"$python" - <<'PY'
import pathlib, zipfile
with zipfile.ZipFile("build/novacrm_spark.zip", "w", zipfile.ZIP_DEFLATED) as archive:
    for path in sorted(pathlib.Path("novacrm_spark").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            archive.write(path)
PY

args=(--py-files build/novacrm_spark.zip --conf "spark.log.level=${SPARK_LOG_LEVEL:-WARN}")
[[ -n "${SPARK_MASTER:-}" ]] && args+=(--master "$SPARK_MASTER")
if [[ -n "${DELTA_SPARK_PACKAGE:-}" ]]; then
  args+=(--packages "$DELTA_SPARK_PACKAGE"
         --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
         --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)
fi
# shellcheck disable=SC2206 - word splitting is the point of SPARK_SUBMIT_ARGS
[[ -n "${SPARK_SUBMIT_ARGS:-}" ]] && args+=($SPARK_SUBMIT_ARGS)

for layer in "${layers[@]}"; do
  echo "== spark-submit jobs/$layer.py"
  if ! "$submit" "${args[@]}" "jobs/$layer.py" "$@"; then
    echo "error: layer $layer failed; later layers were not run" >&2
    exit 1
  fi
done
