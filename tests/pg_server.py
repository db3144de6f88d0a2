"""A throwaway PostgreSQL server for the instructor tests (a real one, never a mock).

initdb/pg_ctl from Debian's postgresql-15 into a temporary folder. PostgreSQL refuses to
run as root, so as root (CI) the server runs as `nobody` through runuser. Skips with the
reason only where no server can be started.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin")


def _tool(name: str) -> str | None:
    for d in BIN_DIRS:
        if Path(d, name).exists():
            return str(Path(d, name))
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A PostgreSQL data folder run by `pg_ctl` (as `nobody` when we are root)."""

    def __init__(self, folder: Path, as_user: list[str]):
        self.folder, self.as_user, self.port = folder, as_user, _free_port()
        self.data = folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, timeout=120)

    def init(self) -> subprocess.CompletedProcess:
        return self.run(
            _tool("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )

    def start(self) -> subprocess.CompletedProcess:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "log")
        return self.run(
            _tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> subprocess.CompletedProcess:
        return self.run(_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def postgres_server():
    """Yields a started Server (its SQLAlchemy URL: .url); stops it and removes its files."""
    if not (_tool("initdb") and _tool("pg_ctl")):
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl): apt-get install postgresql-15")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="nnfs-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        # an administrator's program: in /usr/sbin, which a plain user's PATH may lack
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if not runuser:
            pytest.skip("running as root without runuser: PostgreSQL cannot be started")
        as_user = [runuser, "-u", "nobody", "--"]
        shutil.chown(folder, "nobody")
    server = Server(folder, as_user)
    try:
        done = server.init()
        if done.returncode != 0:
            pytest.skip(f"initdb failed, no PostgreSQL server: {done.stderr.strip()[-300:]}")
        done = server.start()
        if done.returncode != 0:
            pytest.skip(f"pg_ctl start failed: {done.stderr.strip()[-300:]}")
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
