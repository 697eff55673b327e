"""The Databricks Asset Bundle in conf/databricks/ runs the same DAG as the runner, with working files and flags."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

import pytest
import yaml

from novacrm_spark.cli import main
from novacrm_spark.registry import LAYER_ORDER, all_models
from novacrm_spark.session import DELTA_CATALOG, DELTA_EXTENSION

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "conf" / "databricks"
JOB_PARAMETER = re.compile(r"\{\{job\.parameters\.(\w+)\}\}")
VARIABLE = re.compile(r"\$\{var\.(\w+)\}")
# Databricks' dynamic value reference for the date (UTC, YYYY-MM-DD) the run was triggered.
TRIGGER_DATE = "{{job.trigger.time.iso_date}}"
REGISTER = "register"


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


@pytest.fixture(scope="module")
def layer_tasks(job) -> list[dict]:
    return [t for t in job["tasks"] if t["task_key"] != REGISTER]


@pytest.fixture(scope="module")
def project() -> dict:
    if tomllib is None:
        pytest.skip("reading pyproject.toml needs tomllib (Python 3.11+)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def normalized(name: str) -> str:
    """A distribution name as pip and importlib.metadata compare it (PEP 503): novacrm_spark == novacrm-spark."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parameters(task: dict) -> list[str]:
    return task["python_wheel_task"]["parameters"]


def substituted(args: list[str]) -> list[str]:
    """The parameters as a run sees them: job parameters, ${workspace.file_path} and ${var.*} filled in."""
    values = {"as_of_date": "2025-01-31", "warehouse": "s3a://bucket/warehouse"}
    args = [JOB_PARAMETER.sub(lambda m: values[m.group(1)], a) for a in args]
    args = [a.replace("${workspace.file_path}", str(ROOT)) for a in args]
    return [VARIABLE.sub(lambda m: f"var-{m.group(1)}", a) for a in args]


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
    assert set(tasks) == {*LAYER_ORDER, REGISTER}
    layers = {k: v for k, v in tasks.items() if k != REGISTER}
    assert closure(layers) == closure(runner_layer_graph())
    # and nothing in it runs a layer before one it reads
    assert closure(layers) == {layer: set(LAYER_ORDER[: i]) for i, layer in enumerate(LAYER_ORDER)}


def test_tasks_are_listed_in_layer_order_then_register(job):
    assert [t["task_key"] for t in job["tasks"]] == [*LAYER_ORDER, REGISTER]


def test_register_runs_last_after_marts(job):
    tasks = task_graph(job)
    assert tasks[REGISTER] == {LAYER_ORDER[-1]}
    assert closure(tasks)[REGISTER] == set(LAYER_ORDER)
    assert not any(REGISTER in upstream for upstream in tasks.values()), "nothing may wait for register"


def test_every_task_runs_the_wheels_console_script(job, project):
    """package_name is the wheel's distribution, entry_point its `novacrm` console script (pyproject.toml)."""
    script = "novacrm"
    module, function = project["scripts"][script].split(":")
    assert getattr(importlib.import_module(module), function) is main  # the group these tests parse with
    for task in job["tasks"]:
        assert "spark_python_task" not in task, task["task_key"]
        wheel_task = task["python_wheel_task"]
        assert normalized(wheel_task["package_name"]) == normalized(project["name"]), task["task_key"]
        assert wheel_task["entry_point"] == script, task["task_key"]
        assert task["libraries"], f"task {task['task_key']} installs no wheel"


def test_each_layer_task_runs_its_own_layer(layer_tasks):
    for task in layer_tasks:
        assert parameters(task)[:3] == ["run", "--layer", task["task_key"]], task["task_key"]


def test_register_task_runs_novacrm_register(job, layer_tasks):
    [task] = [t for t in job["tasks"] if t["task_key"] == REGISTER]
    args = parameters(task)
    assert args[0] == "register"
    ctx = main.commands["register"].make_context("register", substituted(args[1:]))
    assert ctx.params["engine"] == "delta-spark"
    assert ctx.params["catalog_override"] == "var-catalog"  # the catalog the cluster starts in
    # the same config file and warehouse as the layers it registers
    for name in ("--config", "--warehouse"):
        assert {parameters(t)[parameters(t).index(name) + 1] for t in layer_tasks} == {args[args.index(name) + 1]}


def test_every_referenced_file_exists(bundle, job, job_file):
    [sync_root] = [(BUNDLE / p).resolve() for p in bundle["sync"]["paths"]]
    assert sync_root == ROOT  # ${workspace.file_path} is the repository root once deployed
    for artifact in bundle["artifacts"].values():
        assert ((BUNDLE / artifact["path"]).resolve() / "pyproject.toml").is_file()
        assert "--wheel-dir dist" in artifact["build"]
    for task in job["tasks"]:
        for library in task["libraries"]:
            wheel_dir = (job_file.parent / library["whl"]).parent.resolve()
            assert wheel_dir == ROOT / "dist", "the task must install the wheel the artifact build writes"
        for value in parameters(task):
            if value.startswith("${workspace.file_path}/"):
                assert (ROOT / value.removeprefix("${workspace.file_path}/")).is_file(), value


def test_the_config_file_comes_from_the_synced_repository(job):
    """The wheel carries the package (and its product catalog), not conf/: tasks read the synced copy."""
    for task in job["tasks"]:
        args = parameters(task)
        assert args[args.index("--config") + 1] == "${workspace.file_path}/conf/cluster.yaml", task["task_key"]
    config = load(ROOT / "conf" / "cluster.yaml")
    assert "products_file" not in config, "a products_file beside the config would not be in the wheel"
    assert (ROOT / "novacrm_spark" / "products.yaml").is_file()


def test_every_job_parameter_reaches_every_layer_task(job, layer_tasks):
    declared = {p["name"] for p in job["parameters"]}
    assert "as_of_date" in declared
    for task in layer_tasks:
        used = set(JOB_PARAMETER.findall(" ".join(parameters(task))))
        assert used == declared, f"task {task['task_key']} gets {sorted(used)}, the job declares {sorted(declared)}"
    for task in job["tasks"]:
        assert set(JOB_PARAMETER.findall(" ".join(parameters(task)))) <= declared, task["task_key"]


def test_as_of_date_defaults_to_the_trigger_date(job):
    """A scheduled run builds the day it was triggered; a manual run may pass another as_of_date."""
    [as_of] = [p for p in job["parameters"] if p["name"] == "as_of_date"]
    assert as_of["default"] == TRIGGER_DATE


def test_task_parameters_are_valid_novacrm_run_flags(layer_tasks):
    """Each layer task's parameters are a `novacrm run` command line: click must accept them."""
    for task in layer_tasks:
        command, *args = substituted(parameters(task))
        ctx = main.commands[command].make_context(command, args)
        assert ctx.params["layer"] == task["task_key"]
        assert ctx.params["as_of_date"] == "2025-01-31"
        assert ctx.params["warehouse"] == "s3a://bucket/warehouse"
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


def test_dev_and_prod_differ_in_warehouse_and_catalog(bundle):
    targets = bundle["targets"]
    assert {"dev", "prod"} <= set(targets)
    dev, prod = targets["dev"]["variables"], targets["prod"]["variables"]
    assert dev["warehouse"] != prod["warehouse"] and dev["catalog"] != prod["catalog"]


def test_every_variable_used_is_declared_and_has_a_value(bundle, resource_files):
    declared = set(bundle["variables"])
    for name, spec in bundle["variables"].items():
        assert spec.get("description"), f"variable {name} has no description"
    used = set(VARIABLE.findall((BUNDLE / "databricks.yml").read_text()))
    for path in resource_files:
        used |= set(VARIABLE.findall(path.read_text()))
    assert used <= declared, f"undeclared variables: {used - declared}"
    # The CLI wants every declared variable resolved in the chosen target, used there or not.
    required = {v for v, spec in bundle["variables"].items() if "default" not in spec}
    given_at_deploy = {"service_principal"}  # prod: --var service_principal=... (BUNDLE_VAR_service_principal)
    for name, target in bundle["targets"].items():
        assert set(target.get("variables", {})) <= declared, name
        missing = required - set(target["variables"])
        if target.get("mode") == "production":
            missing -= given_at_deploy
        assert not missing, f"target {name} leaves {missing} unset"
    for name in given_at_deploy:
        assert f"BUNDLE_VAR_{name}" in bundle["variables"][name]["description"]


def test_prod_runs_as_a_service_principal(bundle):
    prod = bundle["targets"]["prod"]
    assert prod["mode"] == "production"
    assert prod["run_as"] == {"service_principal_name": "${var.service_principal}"}
    assert "service_principal" not in prod["variables"], "the principal is given at deploy time, not committed"
    assert "run_as" not in bundle, "dev runs as the deploying user"


def test_permissions_name_a_managing_and_a_viewing_group(bundle):
    permissions = bundle["permissions"]
    levels = {p["level"] for p in permissions}
    assert {"CAN_MANAGE", "CAN_VIEW"} <= levels <= {"CAN_MANAGE", "CAN_RUN", "CAN_VIEW"}  # the top-level ones
    for permission in permissions:
        [principal] = {"user_name", "group_name", "service_principal_name"} & set(permission)
        assert VARIABLE.fullmatch(permission[principal]), f"{permission}: name the principal with a variable"
    principals = [p.get("group_name") or p.get("user_name") or p.get("service_principal_name") for p in permissions]
    assert len(principals) == len(set(principals)), "one level per principal"


# --- the weekly vacuum job -------------------------------------------------------------------


VACUUM_JOB = "novacrm_vacuum"


@pytest.fixture(scope="module")
def vacuum_job(resource_files) -> dict:
    [found] = [f for f in resource_files if VACUUM_JOB in load(f).get("resources", {}).get("jobs", {})]
    return load(found)["resources"]["jobs"][VACUUM_JOB]


def hour(cron: str) -> int:
    return int(cron.split()[2])


def test_vacuum_runs_weekly_in_utc_and_ends_before_the_daily_build(vacuum_job, job):
    fields = vacuum_job["schedule"]["quartz_cron_expression"].split()
    assert len(fields) in (6, 7) and fields[3:5] == ["?", "*"]  # any day of the month, every month...
    assert fields[5] in ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", *map(str, range(1, 8)))  # ...one weekday
    assert vacuum_job["schedule"]["timezone_id"] == "UTC"
    assert vacuum_job["schedule"]["pause_status"] == "UNPAUSED"
    ends = hour(vacuum_job["schedule"]["quartz_cron_expression"]) + vacuum_job["timeout_seconds"] / 3600
    assert ends <= hour(job["schedule"]["quartz_cron_expression"]), "a vacuum still running when the build starts"
    assert vacuum_job["max_concurrent_runs"] == 1 and vacuum_job["email_notifications"]["on_failure"]


def test_vacuum_task_runs_novacrm_vacuum_on_the_daily_jobs_warehouse(vacuum_job, job, project):
    [task] = vacuum_job["tasks"]
    wheel_task = task["python_wheel_task"]
    assert normalized(wheel_task["package_name"]) == normalized(project["name"])
    assert wheel_task["entry_point"] == "novacrm"
    assert task["libraries"] == job["tasks"][0]["libraries"]  # the bundle's wheel (a file beside the daily job's)
    command, *args = parameters(task)
    assert command == "vacuum"
    ctx = main.commands[command].make_context(command, substituted(args))
    assert ctx.params["engine"] == "delta-spark"
    assert ctx.params["config_file"] == str(ROOT / "conf" / "cluster.yaml")
    assert ctx.params["warehouse"] == "s3a://bucket/warehouse"
    # The default retention is the readers' safety window (deleted_file_retention): nothing shorter is asked.
    assert ctx.params["retain_hours"] is None and not ctx.params["dry_run"]
    # The same warehouse as the build it cleans up after.
    [warehouse] = [p for p in vacuum_job["parameters"] if p["name"] == "warehouse"]
    assert warehouse["default"] == next(p for p in job["parameters"] if p["name"] == "warehouse")["default"]
    assert set(JOB_PARAMETER.findall(" ".join(parameters(task)))) == {p["name"] for p in vacuum_job["parameters"]}


def test_vacuum_cluster_uses_the_delta_spark_engine(vacuum_job):
    [cluster] = vacuum_job["job_clusters"]
    conf = cluster["new_cluster"]["spark_conf"]
    assert conf["spark.sql.extensions"] == DELTA_EXTENSION
    assert conf["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG
    assert cluster["new_cluster"]["spark_env_vars"]["NOVACRM_ENGINE"] == "delta-spark"
    assert all(t["job_cluster_key"] == cluster["job_cluster_key"] for t in vacuum_job["tasks"])
    assert all(t["max_retries"] >= 1 for t in vacuum_job["tasks"])
