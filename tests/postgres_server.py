"""A throwaway PostgreSQL server for tests (``DRUGLOOP_TEST_POSTGRES=1`` turns it on).

The server lives in a temporary directory, listens on a free localhost port (unix socket in the
same directory), trusts local connections and is stopped and deleted afterwards. PostgreSQL
refuses to run as root, so under root the server commands run as the ``postgres`` user. Each
pytest-xdist worker starts its own server; each test gets a fresh schema.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV_VAR = "DRUGLOOP_TEST_POSTGRES"
DATABASE = "drugloop_test"
SKIP_REASON = f"PostgreSQL tests are off; set {ENV_VAR}=1 (needs initdb/pg_ctl installed)"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started (binaries missing or start-up failed)."""


def postgres_requested() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def find_bindir() -> Path:
    """Directory holding ``initdb`` and ``pg_ctl``: on PATH, else the newest Debian install."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []

    def version(path: str) -> int:
        name = Path(path).parent.name
        return int(name) if name.isdigit() else 0

    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    candidates += [Path(p) for p in installed]
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise PostgresUnavailable("initdb/pg_ctl not found (install the 'postgresql' package)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """``initdb`` + ``pg_ctl start`` in a temporary directory; ``stop()`` removes everything."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="drugloop-pg-"))
        self.datadir = self.root / "data"
        self.port = 0
        self._started = False

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{tail}"
            )
        return result

    def start(self, attempts: int = 3) -> None:
        if self.as_root:
            shutil.chown(self.root, user="postgres", group="postgres")
        self.root.chmod(0o700)
        self._run(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        for attempt in range(attempts):
            self.port = free_port()  # another process may grab it first: retry with a new one
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    "pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "server.log"),
                    "-o", options, "-w", "-t", "60", "start",
                )  # fmt: skip
            except PostgresUnavailable:
                if attempt == attempts - 1:
                    raise
            else:
                self._started = True
                self._admin(f"CREATE DATABASE {DATABASE}", database="postgres")
                return

    def url(self, database: str = DATABASE, schema: str | None = None) -> str:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"
        return url + (f"?options=-csearch_path%3D{schema}" if schema else "")

    def _admin(self, sql: str, database: str = DATABASE) -> None:
        import psycopg

        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)

    def fresh_schema(self) -> tuple[str, str]:
        """An empty schema as the default search path: (SQLAlchemy URL, schema name).

        A schema per test is as isolated as a database for the store, and creating one takes
        milliseconds where CREATE DATABASE needs a checkpoint.
        """
        name = f"t_{uuid.uuid4().hex[:16]}"
        self._admin(f"CREATE SCHEMA {name}")
        return self.url(schema=name), name

    def drop_schema(self, name: str) -> None:
        self._admin(f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def stop(self) -> None:
        try:
            if self._started:
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def running_server() -> Iterator[PostgresServer]:
    """Generator body of a session fixture: skip when not requested, fail if it cannot start."""
    if not postgres_requested():
        pytest.skip(SKIP_REASON)
    server, problem = None, ""
    try:
        server = PostgresServer()
        server.start()
    except (PostgresUnavailable, subprocess.TimeoutExpired, OSError, LookupError) as exc:
        problem = str(exc) or repr(exc)
    if problem or server is None:
        if server is not None:
            server.stop()
        pytest.fail(f"{ENV_VAR} is set but PostgreSQL did not start: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
