"""What a hostile BI user sends, and what a read-only server must still answer (shared by the sql and serve tests).

``{outside}`` is a folder outside the warehouse that must never appear;
``{warehouse}`` the warehouse root.
"""

# Every statement must fail, change no table, and create no file.
HOSTILE = [
    "INSERT OVERWRITE DIRECTORY '{warehouse}/marts/nrr_summary' USING parquet SELECT 1 AS x",
    "INSERT OVERWRITE DIRECTORY '{outside}/dir' USING parquet SELECT 1 AS x",
    "SELECT * FROM csv.`/etc/passwd`",
    "SELECT * FROM text.`/etc/hostname`",
    "WITH leak AS (SELECT * FROM json.`/etc/passwd`) SELECT * FROM leak",
    "SELECT * FROM marts.nrr_summary WHERE revenue_month IN (SELECT _c0 FROM csv.`/etc/passwd`)",
    "SELECT * FROM IDENTIFIER('csv.`/etc/passwd`')",
    "EXECUTE IMMEDIATE 'DROP VIEW marts.nrr_summary'",
    "CREATE TABLE grab (a INT) USING parquet LOCATION '{outside}/table'",
    "CREATE TEMPORARY VIEW grab USING csv OPTIONS (path '/etc/passwd')",
    "SELECT reflect('java.lang.System', 'getenv', 'HOME')",
    "SELECT java_method('java.lang.System', 'getenv', 'HOME')",
    "SELECT TRANSFORM(account_id) USING 'touch {outside}/ran' FROM marts.churn_risk_view",
    "DROP VIEW marts.nrr_summary",
    "ALTER VIEW marts.nrr_summary AS SELECT 1 AS x",
    "ALTER TABLE marts.nrr_summary SET TBLPROPERTIES ('k' = 'v')",
    "DELETE FROM marts.nrr_summary WHERE true",
    "MERGE INTO marts.nrr_summary t USING marts.nrr_summary s ON t.revenue_month = s.revenue_month "
    "WHEN MATCHED THEN DELETE",
    "CACHE TABLE marts.nrr_summary",
    "ADD JAR {outside}/evil.jar",
    "SET spark.sql.runSQLOnFiles=true",
    "SET spark.sql.warehouse.dir={outside}",
    "RESET",
    "CREATE FUNCTION evil AS 'com.example.Evil'",
    "CREATE DATABASE evil LOCATION '{outside}/db'",
]

# Statements BI tools send: each must work on a read-only server.
ALLOWED = [
    "SELECT count(*) FROM marts.nrr_summary",
    "WITH m AS (SELECT * FROM marts.nrr_summary) SELECT count(*) FROM m",
    "VALUES (1, 'a')",
    "TABLE marts.nrr_summary",
    "SELECT count(*) FROM range(3)",
    "SHOW DATABASES",
    "SHOW TABLES IN marts",
    "SHOW COLUMNS IN marts.churn_risk_view",
    "DESCRIBE TABLE EXTENDED marts.churn_risk_view",
    "EXPLAIN SELECT * FROM marts.nrr_summary",
    "USE marts",
    "SET spark.sql.ansi.enabled=true",
    "SET spark.sql.session.timeZone",
]


def fill(statement: str, outside, warehouse) -> str:
    return statement.format(outside=outside, warehouse=warehouse)
