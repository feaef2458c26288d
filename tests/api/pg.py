"""A throwaway PostgreSQL 15 cluster for the black-box tests: initdb into a temporary directory,
pg_ctl on a free loopback port, one fresh database per orderd server, everything removed at the end.

Debian's server binaries live in /usr/lib/postgresql/15/bin (package postgresql-15). PostgreSQL
refuses to run as root, so as root every server command runs as the `postgres` user (runuser)."""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid

PG_BIN = pathlib.Path(os.environ.get("ORDERD_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One PostgreSQL server. url(db) is what ORDERD_DATABASE_URL takes."""

    def __init__(self):
        self.root = None
        self.port = None
        self._lock = threading.Lock()

    @property
    def data_dir(self):
        return self.root / "data"

    @property
    def socket_dir(self):
        return self.root / "sock"

    def _as_owner(self, *args, **kw):
        """Runs a server command as the cluster's owner (postgres when we are root)."""
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True, **kw)

    def start(self):
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"{PG_BIN}/initdb not found: install postgresql-15 (scripts/install-deps --test)")
        # Not under pytest's tmp_path: that is private to root and the server runs as postgres.
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="orderd-pg-"))
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER, PG_USER)
            shutil.chown(self.socket_dir, PG_USER, PG_USER)
        self._as_owner(PG_BIN / "initdb", "-D", self.data_dir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                       "--locale=C", "--no-sync")
        self.port = free_port()
        self.start_server()
        return self

    def pg_ctl(self, action, *args):
        return self._as_owner(PG_BIN / "pg_ctl", action, "-D", self.data_dir, *args)

    def stop_server(self, mode="fast"):
        """Stops the server but keeps its data (restart with start_server)."""
        self.pg_ctl("stop", "-w", "-m", mode)

    def start_server(self):
        """Starts the server on the cluster's port (again, after stop_server)."""
        # Durability is not what these tests check: no fsync makes CREATE DATABASE and commits fast.
        options = " ".join([
            "-c listen_addresses=127.0.0.1", f"-p {self.port}", f"-k {self.socket_dir}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=300", "-c shared_buffers=64MB",
        ])
        self.pg_ctl("start", "-w", "-t", "60", "-o", options, "-l", self.root / "server.log")

    def stop(self):
        if self.root is None:
            return
        try:
            self.pg_ctl("stop", "-w", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def url(self, database):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def connect(self, database="postgres"):
        import psycopg2

        c = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        return c

    def create_database(self):
        """A fresh empty database; returns its name."""
        name = "orderd_" + uuid.uuid4().hex[:12]
        with self._lock:
            c = self.connect()
            try:
                c.autocommit = True
                with c.cursor() as cur:
                    cur.execute(f"CREATE DATABASE {name} TEMPLATE template0")
            finally:
                c.close()
        return name

    def log_text(self):
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""
