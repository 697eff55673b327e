"""Our few JVM classes, compiled in the driver at run time by Janino, the compiler Spark
ships (and uses) for its own generated code: nothing to build or install, any Spark 4.

Janino reads plain Java without generics or lambdas; each ``<Name>.java`` here holds
the public class ``Name`` (in the default package).

Example::

    >>> guard_class = load_class(spark, "ReadOnlyGuard")   # a py4j JavaClass-like handle
    >>> guard_class.getName()
    'ReadOnlyGuard'
"""

from __future__ import annotations

import os
import subprocess
from importlib.resources import as_file, files

from pyspark.sql import SparkSession


def load_class(spark: SparkSession, name: str):
    """The ``java.lang.Class`` compiled from ``<name>.java``, once per driver JVM."""
    loaded = spark.sparkContext.__dict__.setdefault("_novacrm_classes", {})
    if name not in loaded:
        loaded[name] = _compiler(spark, name).getClassLoader().loadClass(name)
    return loaded[name]


def build_jar(folder: str, names: list[str]) -> str:
    """Compile ``<name>.java`` files into ``<folder>/novacrm-serving.jar`` before a driver JVM starts.

    For classes that Hive looks up by name on the driver's class path
    (``spark.driver.extraClassPath``): a short ``java`` run of Janino, about half a second.
    """
    import pyspark

    from novacrm_spark.errors import ServingError

    jar = os.path.join(folder, "novacrm-serving.jar")
    jars = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    with as_file(files(__name__)) as sources:
        command = [java, "-cp", jars, "org.codehaus.janino.SimpleCompiler", str(sources / "JarWriter.java"), "JarWriter"]
        command += [jar] + [str(sources / f"{name}.java") for name in names]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServingError(f"cannot run {java} to prepare the server's classes: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ServingError(f"cannot compile the server's classes ({', '.join(names)}): {last}")
    return jar


def _compiler(spark: SparkSession, name: str):
    jvm = spark._jvm  # noqa: SLF001 - only serving, a classic session by nature, compiles classes
    compiler = jvm.org.codehaus.janino.SimpleCompiler()
    compiler.setParentClassLoader(jvm.java.lang.Thread.currentThread().getContextClassLoader())
    source = f"{name}.java"
    compiler.cook(source, files(__name__).joinpath(source).read_text(encoding="utf-8"))
    return compiler


def java_array(spark: SparkSession, java_class, values: list):
    """A Java array of ``java_class`` (e.g. ``spark._jvm.java.lang.String``) holding ``values``."""
    array = spark.sparkContext._gateway.new_array(java_class, len(values))  # noqa: SLF001
    for index, value in enumerate(values):
        array[index] = value
    return array
