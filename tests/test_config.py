"""Settings: file < environment < flags, validated with the bad value named."""

import datetime as dt
import re

import pytest

from novacrm_spark import config as config_module
from novacrm_spark.config import load_settings
from novacrm_spark.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    (tmp_path / "products.yaml").write_text(
        "products:\n  - {name: api_access, display_name: API Access, product_type: addon,"
        " feature_category: integration, list_price_mrr: 29}\n"
    )
    return path


def test_precedence_file_then_environment_then_overrides(tmp_path):
    path = write(tmp_path, "warehouse: from_file\ninput_dir: in_file\nshuffle_partitions: 8\nproducts_file: products.yaml\n")
    settings = load_settings(
        path,
        overrides={"warehouse": "from_flag", "as_of_date": None},
        environ={"NOVACRM_WAREHOUSE": "from_env", "NOVACRM_SHUFFLE_PARTITIONS": "3", "NOVACRM_AS_OF_DATE": "2025-01-31"},
    )
    assert settings.warehouse == "from_flag"
    assert settings.shuffle_partitions == 3
    assert settings.input_dir == "in_file"
    assert settings.as_of_date == dt.date(2025, 1, 31)
    assert settings.product("api_access").list_price_mrr == {"all": 29.0}


@pytest.mark.parametrize(
    "text, message",
    [
        ("engine: turbo\n", "engine must be one of"),
        ("as_of_date: 31/01/2025\n", "as_of_date must be YYYY-MM-DD; got '31/01/2025'"),
        ("shuffle_partitions: many\n", "shuffle_partitions must be an integer; got 'many'"),
        ("max_quarantine_fraction: 2\n", "max_quarantine_fraction must be between 0 and 1"),
        ("warehose: typo\n", "unknown setting\\(s\\): warehose"),
        ("- a list\n", "must hold a mapping"),
        # PyYAML itself would crash on an impossible date; ours names the setting.
        ("as_of_date: 2024-02-30\n", "^as_of_date must be a real date \\(YYYY-MM-DD\\); got '2024-02-30': day is out of range"),
        # date.fromisoformat takes 20240131; YYYY-MM-DD is the only accepted form.
        ("as_of_date: 20240131\n", "^as_of_date must be YYYY-MM-DD; got 20240131$"),
        ("as_of_date: '20240131'\n", "^as_of_date must be YYYY-MM-DD; got '20240131'$"),
        ("spark_conf: 5\n", "^spark_conf must be a mapping of names to values; got 5$"),
        ("spark_conf: {spark.x: [1, 2]}\n", "^spark_conf.spark.x must be a single value; got \\[1, 2\\]$"),
        ("catalog: novacrm\n", "^catalog must be a mapping of names to values; got 'novacrm'$"),
        ("warehouse: [a, b]\n", "^warehouse must be a single value"),
        ("warehouse:\n", "^warehouse must not be empty$"),
        ("shuffle_partitions: 2.5\n", "^shuffle_partitions must be an integer; got 2.5$"),
        ("parallel_models: true\n", "^parallel_models must be an integer; got True$"),
        ("products: 5\n", "^products must be a list; got 5$"),
        ("products: [5]\n", "^product catalog entry 5 must be a mapping$"),
        ("log_retention: interval 12 hours\n", "^log_retention must be between 24 hours and 3650 days"),
        ("deleted_file_retention: interval 100000 days\n", "^deleted_file_retention must be between 0 hours and 3650"),
    ],
)
def test_bad_values_are_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), environ={})


def test_as_of_date_is_a_date_when_written_yyyy_mm_dd(tmp_path):
    settings = load_settings(write(tmp_path, "as_of_date: 2024-02-29\n"), environ={})
    assert settings.as_of_date == dt.date(2024, 2, 29)
    assert load_settings(write(tmp_path, "as_of_date:\n"), environ={}).as_of_date is None


def test_as_of_date_from_the_environment_is_held_to_the_same_form(tmp_path):
    with pytest.raises(ConfigError, match="^as_of_date must be YYYY-MM-DD; got '20240131'$"):
        load_settings(write(tmp_path, ""), environ={"NOVACRM_AS_OF_DATE": "20240131"})


def test_a_yaml_syntax_error_names_file_line_and_column_but_not_the_line(tmp_path):
    path = write(tmp_path, "master: local[2]\nwarehouse: [unclosed\npassword: hunter2\n")

    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})

    message = str(raised.value)
    assert message == f"config file {path} is not valid YAML at line 3, column 9: expected ',' or ']', but got ':'"
    assert "hunter2" not in message and "\n" not in message


def test_a_value_that_does_not_fit_its_yaml_tag_is_not_echoed(tmp_path):
    path = write(tmp_path, "shuffle_partitions: !!int hunter2\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})
    assert str(raised.value) == f"config file {path} is not valid YAML: a tagged value does not fit its tag"


def test_a_config_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "conf.yaml"
    path.write_bytes(b"warehouse: caf\xe9\n")
    with pytest.raises(ConfigError, match=f"^config file {path} is not UTF-8 text \\(byte 14\\)$"):
        load_settings(path, environ={})


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_bundled_configs_load_with_the_catalog_the_package_ships():
    for name in ("conf/local.yaml", "conf/cluster.yaml", None):
        settings = load_settings(name, environ={})
        assert {p.name for p in settings.products} == {
            "novacrm_platform", "api_access", "advanced_analytics", "priority_support"
        }
    assert load_settings("conf/cluster.yaml", environ={}).engine == "delta-spark"


@pytest.mark.parametrize(
    ("catalog", "message"),
    [
        (None, "^product catalog {folder}/products.yaml does not exist$"),
        ("products: []\n", "^product catalog {folder}/products.yaml lists no products; dim_product and every "),
        ("# nothing yet\n", "^product catalog {folder}/products.yaml lists no products"),
    ],
)
def test_a_missing_or_empty_product_catalog_stops_with_a_clear_error(tmp_path, catalog, message):
    config = tmp_path / "conf.yaml"
    config.write_text("products_file: products.yaml\n")
    if catalog is not None:
        (tmp_path / "products.yaml").write_text(catalog)

    with pytest.raises(ConfigError, match=message.format(folder=re.escape(str(tmp_path)))):
        load_settings(config, environ={})


def test_a_package_installed_without_its_catalog_says_so(monkeypatch):
    monkeypatch.setattr(config_module, "PACKAGED_PRODUCTS", "no-such-catalog.yaml")

    with pytest.raises(ConfigError, match="^the product catalog no-such-catalog.yaml is missing from the installed "
                                          "package; reinstall novacrm-spark, or set products_file"):
        load_settings(None, environ={})


def test_remote_is_a_spark_connect_url_and_never_echoed():
    assert load_settings(None, {"remote": "sc://spark-host:15002"}, environ={}).remote == "sc://spark-host:15002"
    assert load_settings(None, environ={"NOVACRM_REMOTE": "sc://h/;token=x"}).remote == "sc://h/;token=x"
    assert load_settings(None, environ={"NOVACRM_REMOTE": ""}).remote is None
    with pytest.raises(ConfigError) as error:
        load_settings(None, {"remote": "http://h/;token=secret"}, environ={})
    assert "secret" not in str(error.value) and "sc://host" in str(error.value)


def test_local_runs_tune_the_driver_jvm_and_a_cluster_keeps_its_own():
    from novacrm_spark.config import Settings
    from novacrm_spark.session import spark_defaults

    local = spark_defaults(Settings(master="local[2]"))
    options = local["spark.driver.extraJavaOptions"].split()
    assert options[0] == "-XX:+UseParallelGC"
    assert "-XX:MaxInlineLevel=6" in options
    assert "spark.driver.extraJavaOptions" not in spark_defaults(Settings(master="yarn"))
    # A setting's spark_conf still wins.
    tuned = spark_defaults(Settings(master="local[2]", spark_conf={"spark.driver.extraJavaOptions": "-Xss4m"}))
    assert tuned["spark.driver.extraJavaOptions"] == "-Xss4m"


def test_a_local_run_fetches_the_jars_its_engine_and_storage_need():
    from novacrm_spark.config import Settings
    from novacrm_spark.session import local_packages, spark_defaults

    delta, aws = "io.delta:delta-spark_2.13:", "org.apache.hadoop:hadoop-aws:3."
    assert local_packages(Settings(master="local[2]", engine="embedded")) is None
    assert local_packages(Settings(master="local[2]", engine="delta-spark")).startswith(delta)
    both = local_packages(Settings(master="local[2]", engine="delta-spark", warehouse="s3a://lake/w")).split(",")
    assert [p.rsplit(":", 1)[0] for p in both] == ["io.delta:delta-spark_2.13", "org.apache.hadoop:hadoop-aws"]
    assert both[1].startswith(aws)  # Hadoop's version read from the jars Spark ships
    # The user's own version of a package wins; the rest is still added.
    mine = Settings(master="local[2]", engine="delta-spark", input_dir="s3a://landing/raw",
                    spark_conf={"spark.jars.packages": "io.delta:delta-spark_2.13:9.9.9"})
    assert spark_defaults(mine)["spark.jars.packages"].split(",")[0] == "io.delta:delta-spark_2.13:9.9.9"
    assert spark_defaults(mine)["spark.jars.packages"].split(",")[1].startswith(aws)
    # Explicit jars, or a cluster: nothing added (the cluster's launcher brings its own).
    assert local_packages(Settings(master="local[2]", engine="delta-spark", spark_conf={"spark.jars": "/x.jar"})) is None
    assert "spark.jars.packages" not in spark_defaults(Settings(master="yarn", engine="delta-spark",
                                                                warehouse="s3a://lake/w"))


def test_retention_defaults_are_deltas_own():
    settings = load_settings(None, environ={})
    assert (settings.log_retention, settings.deleted_file_retention) == ("interval 30 days", "interval 7 days")


@pytest.mark.parametrize("value", ["interval 7 days", "interval 1 day", "interval 36 hours", "interval 2 weeks",
                                   "interval 0 hours", "interval 1 week"])
def test_retention_takes_deltas_interval_syntax(tmp_path, value):
    path = write(tmp_path, f"deleted_file_retention: {value}\nlog_retention: {value.replace('0 hours', '1 day')}\n")
    settings = load_settings(path, environ={})
    assert settings.deleted_file_retention == value


@pytest.mark.parametrize(
    "text",
    [
        "deleted_file_retention: 7 days\n",  # Delta's own parsers differ on a missing "interval"
        "deleted_file_retention: INTERVAL 7 DAYS\n",  # delta-rs reads upper case as no setting at all
        "deleted_file_retention: interval 7 fortnights\n",
        "deleted_file_retention: interval 1 month\n",  # delta-spark refuses months
        "deleted_file_retention: interval -1 days\n",
        "deleted_file_retention: interval 1.5 days\n",
        "deleted_file_retention: interval 90 minutes\n",  # vacuum counts whole hours
        "deleted_file_retention: 'interval 7 days; DROP TABLE x'\n",
        "deleted_file_retention: ' interval 7 days'\n",
        "deleted_file_retention: 168\n",
        "deleted_file_retention:\n",
        "log_retention: [interval 30 days]\n",
    ],
)
def test_a_bad_retention_is_refused_naming_the_setting(tmp_path, text):
    name = text.split(":")[0]
    with pytest.raises(ConfigError, match=f"^{name} must be Delta's interval syntax, e.g. 'interval 30 days'"):
        load_settings(write(tmp_path, text), environ={})


def test_retention_from_the_environment_is_checked_too(tmp_path):
    with pytest.raises(ConfigError, match="^log_retention must be"):
        load_settings(None, environ={"NOVACRM_LOG_RETENTION": "forever"})
    assert load_settings(None, environ={"NOVACRM_LOG_RETENTION": "interval 60 days"}).log_retention == "interval 60 days"
