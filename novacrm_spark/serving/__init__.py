"""Serving: the published Delta tables by name, for BI tools (JDBC/ODBC) and scripts (SQL).

* :mod:`~novacrm_spark.serving.catalog`: one view per published table, named ``<layer>.<table>``,
  kept at the table's latest Delta version;
* :mod:`~novacrm_spark.serving.thrift`: Spark's Thrift JDBC/ODBC server inside our driver;
* :mod:`~novacrm_spark.serving.daemon`: the refresh loop and signal handling of ``novacrm serve``;
* :mod:`~novacrm_spark.serving.output`: query results as table, CSV or JSON (``novacrm sql``);
* :mod:`~novacrm_spark.serving.register`: metastore / Unity Catalog entries (``novacrm register``);
* :mod:`~novacrm_spark.serving.commands`: the three click commands.

Example::

    $ novacrm serve --port 10000 &
    $ beeline -u jdbc:hive2://localhost:10000/default -e "SELECT count(*) FROM marts.churn_risk_view"
"""

FORMATS = ("table", "csv", "json")  # what `novacrm sql --format` prints
