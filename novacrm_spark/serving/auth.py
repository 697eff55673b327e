"""Who may connect to `novacrm serve`.

By default a client must give the serving user name and password, checked by
HiveServer2's own CUSTOM authentication hook (``jvm/PasswordAuthenticator.java``;
BI tools send them as "Username and password"). The password comes from
``--password-file`` or the ``NOVACRM_SERVE_PASSWORD`` environment variable, the
user name from ``NOVACRM_SERVE_USER`` (default ``novacrm``). For a real
deployment, HiveServer2's LDAP or Kerberos modes are set in the config's
``spark_conf`` (``hive.server2.authentication: LDAP`` plus its settings) and
used as they are. ``--no-auth`` is allowed on a loopback host only.

Example::

    >>> mode = choose_auth(host="localhost", no_auth=False, password_file=None,
    ...                    spark_conf={}, environ={"NOVACRM_SERVE_PASSWORD": "s3cret"})
    >>> mode.kind, mode.credentials.user
    ('password', 'novacrm')
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from typing import Mapping

from pyspark.sql import SparkSession

from novacrm_spark.errors import ServingError
from novacrm_spark.serving.jvm import build_jar, java_array

PASSWORD_ENV = "NOVACRM_SERVE_PASSWORD"
USER_ENV = "NOVACRM_SERVE_USER"
DEFAULT_USER = "novacrm"
EXTERNAL_MODES = ("LDAP", "KERBEROS")  # HiveServer2's own, configured through spark_conf
AUTH_KEY = "hive.server2.authentication"
CUSTOM_CLASS_KEY = "hive.server2.custom.authentication.class"


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class AuthMode:
    """``password`` (ours), ``ldap``/``kerberos`` (HiveServer2's, from spark_conf) or ``none``."""

    kind: str
    credentials: Credentials | None = None

    def driver_conf(self, scratch_dir: str, spark_conf: Mapping[str, str]) -> dict[str, str]:
        """Driver settings the mode needs before Spark starts: the password provider on the class path
        (HiveServer2 finds it by name, per login)."""
        if self.credentials is None:
            return {}
        jar = build_jar(scratch_dir, ["PasswordAuthenticator"])
        existing = spark_conf.get("spark.driver.extraClassPath")
        return {"spark.driver.extraClassPath": f"{existing}{os.pathsep}{jar}" if existing else jar}

    def hive_conf(self) -> dict[str, str]:
        """The HiveServer2 settings for this mode (LDAP/Kerberos keep the config's own)."""
        if self.kind == "password":
            return {AUTH_KEY: "CUSTOM", CUSTOM_CLASS_KEY: "PasswordAuthenticator"}
        if self.kind == "none":
            return {AUTH_KEY: "NONE"}
        return {}


def choose_auth(
    host: str,
    no_auth: bool,
    password_file: str | None,
    spark_conf: Mapping[str, str],
    environ: Mapping[str, str] = os.environ,
) -> AuthMode:
    """Decide how clients authenticate; refuse to serve without credentials (unless told, on loopback)."""
    if no_auth:
        if not is_loopback(host):
            raise ServingError(f"--no-auth is allowed only on a loopback host (127.0.0.1, localhost); got --host {host}")
        return AuthMode("none")
    external = str(spark_conf.get(AUTH_KEY, "")).upper()
    if external in EXTERNAL_MODES:
        return AuthMode(external.lower())
    password = _read_password_file(password_file) if password_file else environ.get(PASSWORD_ENV, "")
    if not password:
        raise ServingError(
            f"serve needs credentials: set {PASSWORD_ENV} (user name {USER_ENV}, default {DEFAULT_USER}) "
            "or --password-file FILE; LDAP/Kerberos: set hive.server2.authentication in spark_conf; "
            "--no-auth serves without any, on a loopback host only"
        )
    return AuthMode("password", Credentials(environ.get(USER_ENV) or DEFAULT_USER, password))


def _read_password_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.readline().rstrip("\r\n")
    except OSError as exc:
        raise ServingError(f"cannot read --password-file {path}: {exc.strerror}") from None
    if not password:
        raise ServingError(f"--password-file {path} is empty: its first line is the password")
    return password


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def bind_address(host: str) -> str:
    """The IP address the serving process's sockets bind to (``localhost`` -> ``127.0.0.1``)."""
    try:
        return socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
    except socket.gaierror:
        raise ServingError(f"--host {host} does not resolve to an IPv4 address") from None


def install_password_check(spark: SparkSession, credentials: Credentials) -> None:
    """Hand the provider (on the class path, see :meth:`AuthMode.driver_conf`) the expected credentials."""
    jvm = spark._jvm  # noqa: SLF001 - serve runs a classic session by nature
    try:
        provider = jvm.java.lang.Class.forName("PasswordAuthenticator")
    except Exception:  # noqa: BLE001 - py4j wraps ClassNotFoundException
        raise ServingError("password authentication needs serve to start its own Spark driver") from None
    string = jvm.java.lang.Class.forName("java.lang.String")
    expect = provider.getMethod("expect", java_array(spark, jvm.java.lang.Class, [string, string]))
    expect.invoke(None, java_array(spark, jvm.java.lang.Object, [credentials.user, credentials.password]))
    # HiveServer2 builds a fresh HiveConf for each login, which reads system properties.
    jvm.java.lang.System.setProperty(CUSTOM_CLASS_KEY, "PasswordAuthenticator")
