#!/usr/bin/env bash
# Submit NovaCRM Spark layers with spark-submit.
#
#   ./spark-submit.sh <staging|core|marts|all> [novacrm run options...]
#   ./spark-submit.sh all --config conf/local.yaml --as-of 2025-01-31
#   SPARK_MASTER=yarn SPARK_DEPLOY_MODE=cluster ./spark-submit.sh all --config conf/cluster.yaml
#
# Environment:
#   SPARK_MASTER         --master for spark-submit (default: spark-submit's own, local[*])
#   SPARK_DEPLOY_MODE    --deploy-mode for spark-submit: client (default) or cluster
#   SPARK_SUBMIT_ARGS    extra spark-submit arguments, word-split (e.g. "--driver-memory 4g");
#                        a --deploy-mode here wins over SPARK_DEPLOY_MODE
#   DELTA_SPARK_PACKAGE  e.g. io.delta:delta-spark_2.13:4.0.1: adds --packages and Delta's
#                        session extensions, so the delta-spark engine is used
#   SPARK_SUBMIT         the spark-submit executable (default: spark-submit on PATH)
#   SPARK_LOG_LEVEL      Spark log level (default WARN)
# "all" runs staging, core and marts in order and stops at the first failing layer.
# --config FILE (or --config=FILE) also ships FILE with --files (a relative FILE is taken
# from this script's folder, where spark-submit runs). In cluster deploy mode the job is
# given --config <basename of FILE>, the copy --files put in the driver's working
# directory; in client mode it gets FILE as given.
set -euo pipefail

# The header comment above, from line 2 to the first line that is not a comment.
usage() { sed -n '2,/^[^#]/{/^#/p;}' "$0" | sed 's/^# \{0,1\}//'; }

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
deploy_mode=${SPARK_DEPLOY_MODE:-client}
[[ -n "${SPARK_DEPLOY_MODE:-}" ]] && args+=(--deploy-mode "$SPARK_DEPLOY_MODE")
if [[ -n "${DELTA_SPARK_PACKAGE:-}" ]]; then
  args+=(--packages "$DELTA_SPARK_PACKAGE"
         --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
         --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)
fi
# spark-submit keeps only the last --files, so one given in SPARK_SUBMIT_ARGS joins the config's.
files=()
# shellcheck disable=SC2206 - word splitting is the point of SPARK_SUBMIT_ARGS
extra=(${SPARK_SUBMIT_ARGS:-})
for ((i = 0; i < ${#extra[@]}; i++)); do
  case "${extra[i]}" in
    --deploy-mode) deploy_mode=${extra[i + 1]:-}; args+=("${extra[i]}") ;;
    --deploy-mode=*) deploy_mode=${extra[i]#--deploy-mode=}; args+=("${extra[i]}") ;;
    spark.submit.deployMode=*) deploy_mode=${extra[i]#*=}; args+=("${extra[i]}") ;;  # after --conf
    --files) files+=("${extra[i + 1]:-}"); i=$((i + 1)) ;;
    --files=*) files+=("${extra[i]#--files=}") ;;
    *) args+=("${extra[i]}") ;;
  esac
done

# The job's arguments: --config FILE is shipped with --files, and in cluster mode the job
# reads the shipped copy by its base name. click keeps the last --config, so do we.
job_args=()
config=
ship_config() {  # $1: FILE as given; sets config (absolute) and shipped (what the job gets)
  [[ -f "$1" ]] || { echo "error: config file '$1' not found" >&2; exit 2; }
  config="$(CDPATH='' cd -- "$(dirname -- "$1")" && pwd)/$(basename -- "$1")"
  if [[ "$deploy_mode" == cluster ]]; then shipped=$(basename -- "$1"); else shipped=$1; fi
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config)
      if [[ $# -ge 2 ]]; then ship_config "$2"; job_args+=(--config "$shipped"); shift 2; continue; fi
      job_args+=("$1") ;;  # no value: novacrm says so
    --config=*) ship_config "${1#--config=}"; job_args+=("--config=$shipped") ;;
    *) job_args+=("$1") ;;
  esac
  shift
done
[[ -n "$config" ]] && files+=("$config")
if [[ ${#files[@]} -gt 0 ]]; then
  args+=(--files "$(IFS=,; echo "${files[*]}")")
fi

for layer in "${layers[@]}"; do
  echo "== spark-submit jobs/$layer.py"
  if ! "$submit" "${args[@]}" "jobs/$layer.py" ${job_args[@]+"${job_args[@]}"}; then
    echo "error: layer $layer failed; later layers were not run" >&2
    exit 1
  fi
done
