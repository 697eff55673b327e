"""The data path stays in Spark's engine: no collect/toPandas of tables, no UDFs or Python rows, no wall clock.

Every exception is listed here with the reason it is safe, so a new one is a
deliberate, reviewed choice.
"""

import pathlib
import re

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "novacrm_spark"
# createDataFrame from Python rows starts Python workers; frames.constant_frame builds rows in the JVM.
FORBIDDEN = re.compile(
    r"\.collect\(\)|toPandas\(|@udf\b|pandas_udf|F\.udf\(|\budf\(|datetime\.now\(|date\.today\(|time\.time\(|createDataFrame\("
)

# path relative to the package -> why the matches there are fine
ALLOWED = {
    "store/embedded.py": "collects one small file-metadata row per written Parquet file",
    "store/_replace.py": "a remove action's deletion timestamp is Delta log bookkeeping (vacuum), not table data",
    "run/results.py": "the run's single start timestamp",
    "run/audit.py": "collects one count per quarantine reason when the write's counts do not add up",
    "run/incremental.py": "collects the handful of event months an increment replaces",
    "store/base.py": "read_rows collects a bookkeeping table (the run manifest: one small row per table)",
    "quality/": "collects check counts and at most 5 sample rows of a failing check",
    "sources.py": "collects one file-metadata row (path, time, size) per raw file when listing the exports",
    "source_checks.py": "collects one small count row per partition when looking for non-UTF-8 lines",
    "report/": "marts are small aggregates brought to the driver to draw charts",
    "serving/": "prints query results the user asked for",
    "as_of.py": "collects one aggregated (oldest, newest) date row per source for freshness and the as-of date",
    "upkeep/": "vacuum lists the file names Delta's VACUUM DRY RUN returns, not table data",
    "datagen/": "the generator is plain Python that writes CSV, not part of the Spark data path",
}


def offending_lines():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if any(relative == a or (a.endswith("/") and relative.startswith(a)) for a in ALLOWED):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if FORBIDDEN.search(line) and not line.lstrip().startswith("#"):
                yield f"{relative}:{number}: {line.strip()}"


def test_no_collect_udf_or_wall_clock_on_the_data_path():
    assert list(offending_lines()) == []


def test_models_never_touch_the_driver_or_the_clock():
    models = PACKAGE / "models"
    pattern = re.compile(r"\.collect\(|\.first\(|\.take\(|toPandas|\.count\(\)|datetime\.now|date\.today|SparkSession")
    hits = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in models.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert hits == []
