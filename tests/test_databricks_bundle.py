"""The Databricks Asset Bundle in conf/databricks/ runs the same DAG as the runner, with working files and flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from novacrm_spark.cli import main
from novacrm_spark.registry import LAYER_ORDER, all_models
from novacrm_spark.session import DELTA_CATALOG, DELTA_EXTENSION

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "conf" / "databricks"
JOB_PARAMETER = re.compile(r"\{\{job\.parameters\.(\w+)\}\}")
VARIABLE = re.compile(r"\$\{var\.(\w+)\}")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bundle() -> dict:
    return load(BUNDLE / "databricks.yml")


@pytest.fixture(scope="module")
def resource_files(bundle) -> list[Path]:
    files = sorted(f for pattern in bundle["include"] for f in BUNDLE.glob(pattern))
    assert files, "the bundle includes no resource file"
    return files


@pytest.fixture(scope="module")
def job_file(resource_files) -> Path:
    [found] = [f for f in resource_files if "novacrm_daily" in load(f).get("resources", {}).get("jobs", {})]
    return found


@pytest.fixture(scope="module")
def job(job_file) -> dict:
    return load(job_file)["resources"]["jobs"]["novacrm_daily"]


def closure(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every node's direct and indirect upstreams."""
    result = {node: set(ups) for node, ups in graph.items()}
    changed = True
    while changed:
        changed = False
        for node, ups in result.items():
            more = set().union(*(result.get(u, set()) for u in ups)) - ups
            if more:
                ups |= more
                changed = True
    return result


def runner_layer_graph() -> dict[str, set[str]]:
    """Which layers each layer reads, from the model registry the runner executes."""
    models = all_models()
    graph: dict[str, set[str]] = {layer: set() for layer in LAYER_ORDER}
    for model in models.values():
        graph[model.layer] |= {models[i].layer for i in model.model_inputs} - {model.layer}
    return graph


def task_graph(job: dict) -> dict[str, set[str]]:
    return {t["task_key"]: {d["task_key"] for d in t.get("depends_on", [])} for t in job["tasks"]}


def test_task_graph_is_the_runners_layer_graph(job):
    tasks = task_graph(job)
    assert set(tasks) == set(LAYER_ORDER)
    assert closure(tasks) == closure(runner_layer_graph())
    # and nothing in it runs a layer before one it reads
    assert closure(tasks) == {layer: set(LAYER_ORDER[: i]) for i, layer in enumerate(LAYER_ORDER)}


def test_each_task_runs_its_layers_entry_point(job, job_file):
    for task in job["tasks"]:
        script = (job_file.parent / task["spark_python_task"]["python_file"]).resolve()
        assert script == ROOT / "jobs" / f"{task['task_key']}.py"
        assert script.is_file()
        assert f'"--layer", "{task["task_key"]}"' in script.read_text(), f"{script} does not run its own layer"


def test_every_referenced_file_exists(bundle, job, job_file):
    [sync_root] = [(BUNDLE / p).resolve() for p in bundle["sync"]["paths"]]
    assert sync_root == ROOT  # ${workspace.file_path} is the repository root once deployed
    for artifact in bundle["artifacts"].values():
        assert ((BUNDLE / artifact["path"]).resolve() / "pyproject.toml").is_file()
    for task in job["tasks"]:
        for library in task.get("libraries", []):
            wheel_dir = (job_file.parent / library["whl"]).parent.resolve()
            assert wheel_dir == ROOT / "dist", "the task must install the wheel the artifact build writes"
        for value in task["spark_python_task"]["parameters"]:
            if value.startswith("${workspace.file_path}/"):
                assert (ROOT / value.removeprefix("${workspace.file_path}/")).is_file(), value


def test_every_job_parameter_reaches_every_task(job):
    declared = {p["name"] for p in job["parameters"]}
    assert "as_of_date" in declared
    for task in job["tasks"]:
        used = set(JOB_PARAMETER.findall(" ".join(task["spark_python_task"]["parameters"])))
        assert used == declared, f"task {task['task_key']} gets {sorted(used)}, the job declares {sorted(declared)}"


def test_task_parameters_are_valid_novacrm_run_flags(job):
    """jobs/<layer>.py passes its arguments to `novacrm run --layer <layer>`: click must accept them."""
    run = main.commands["run"]
    for task in job["tasks"]:
        args = [
            JOB_PARAMETER.sub(lambda m: {"as_of_date": "2025-01-31"}.get(m.group(1), "/tmp/w"), a)
            .replace("${workspace.file_path}", str(ROOT))
            for a in task["spark_python_task"]["parameters"]
        ]
        args = [VARIABLE.sub("s3a://bucket/path", a) for a in args]
        ctx = run.make_context("run", ["--layer", task["task_key"], *args])
        assert ctx.params["as_of_date"] == "2025-01-31"
        assert ctx.params["engine"] == "delta-spark"
        assert ctx.params["config_file"] == str(ROOT / "conf" / "cluster.yaml")


def test_daily_schedule_in_utc_with_retries_and_failure_mail(job):
    schedule = job["schedule"]
    fields = schedule["quartz_cron_expression"].split()
    assert len(fields) in (6, 7) and fields[3:6] == ["*", "*", "?"]  # every day of every month
    assert schedule["timezone_id"] == "UTC"
    assert job["email_notifications"]["on_failure"]
    for task in job["tasks"]:
        assert task["max_retries"] >= 1 and task["min_retry_interval_millis"] > 0, task["task_key"]


def test_job_cluster_uses_the_delta_spark_engine(job):
    [cluster] = job["job_clusters"]
    conf = cluster["new_cluster"]["spark_conf"]
    assert conf["spark.sql.extensions"] == DELTA_EXTENSION
    assert conf["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG
    assert all(t["job_cluster_key"] == cluster["job_cluster_key"] for t in job["tasks"])


def test_dev_and_prod_differ_in_warehouse_and_catalog(bundle, resource_files):
    targets = bundle["targets"]
    assert {"dev", "prod"} <= set(targets)
    dev, prod = targets["dev"]["variables"], targets["prod"]["variables"]
    assert dev["warehouse"] != prod["warehouse"] and dev["catalog"] != prod["catalog"]
    declared = set(bundle["variables"])
    for name, target in targets.items():
        assert set(target.get("variables", {})) <= declared, name
        missing = {v for v, spec in bundle["variables"].items() if "default" not in spec} - set(target["variables"])
        assert not missing, f"target {name} leaves {missing} unset"
    used = set(VARIABLE.findall((BUNDLE / "databricks.yml").read_text()))
    for path in resource_files:
        used |= set(VARIABLE.findall(path.read_text()))
    assert used <= declared, f"undeclared variables: {used - declared}"
