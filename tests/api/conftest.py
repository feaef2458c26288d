"""Black-box harness: starts the real orderd binary on a free loopback port with a temporary
database and talks to it over HTTP. Every network call has a timeout.

The database is a SQLite file per server, or with ORDERD_TEST_DB=postgres a fresh database per
server in a throwaway PostgreSQL 15 cluster that the harness starts itself (tests/api/pg.py)."""
import os
import pathlib
import re
import signal
import sqlite3
import subprocess
import time
import uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = str(pathlib.Path(os.environ.get("ORDERD_BIN", ROOT / "build-test" / "orderd")).resolve())
TIMEOUT = 10  # seconds for any single HTTP call
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
BACKEND = os.environ.get("ORDERD_TEST_DB", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"ORDERD_TEST_DB must be sqlite or postgres, not {BACKEND!r}")

postgres_only = pytest.mark.skipif(BACKEND != "postgres", reason="needs PostgreSQL (ORDERD_TEST_DB=postgres)")

_cluster = None


def pg_cluster():
    """The session's PostgreSQL cluster, started on first use and stopped when the session ends."""
    global _cluster
    if _cluster is None:
        from pg import PgCluster

        _cluster = PgCluster().start()
    return _cluster


def pytest_sessionfinish(session, exitstatus):
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


class IntegrityError(Exception):
    """A constraint refused a write made through Server.sql, whichever the database."""


def fresh_database_url(workdir):
    """What a new server's ORDERD_DATABASE_URL is: a new SQLite file or a new PostgreSQL database."""
    if BACKEND == "postgres":
        cluster = pg_cluster()
        return cluster.url(cluster.create_database())
    return f"sqlite://{workdir / 'orderd.db'}"


class LoggedProcess:
    """What every process the tests start shares: a log file, a graceful stop, sanitizer reports."""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the process (SIGTERM unless told otherwise) and returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=timeout)
        self.http.close()
        self.log.close()
        return code

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                         "runtime error:")

    def sanitizer_report(self):
        """The first lines of an ASan, LSan, TSan or UBSan report in this server's log, or None."""
        text = self.log_text()
        for marker in self.SANITIZER_MARKERS:
            at = text.find(marker)
            if at >= 0:
                return text[at:at + 3000]
        return None


class Server(LoggedProcess):
    """One orderd process. `env` adds ORDERD_* settings to the test defaults (None: orderd's default)."""

    def __init__(self, workdir: pathlib.Path, env=None, args=()):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = workdir / "orderd.db"  # SQLite only
        self.log_path = workdir / "orderd.log"
        database_url = (env or {}).get("ORDERD_DATABASE_URL") or fresh_database_url(workdir)
        self.env = {
            **os.environ,
            "ORDERD_ENV": "development",
            "ORDERD_DATABASE_URL": database_url,
            "ORDERD_JWT_SECRET": TEST_SECRET,
            "ORDERD_MAIL_DIR": str(workdir / "mail"),
            "ORDERD_LISTEN": "127.0.0.1:0",
            "ORDERD_THREADS": "2",
            "ORDERD_WORKERS": "4",
            "ORDERD_PASSWORD_COST": "minimum",
            # The tests register hundreds of customers from 127.0.0.1; test_security.py sets a limit.
            "ORDERD_REGISTRATIONS_PER_HOUR": "0",
            # Most tests count the emails of an order's flow; the account tests turn the registration's
            # confirm-your-email message back on (test_account_recovery.py checks the default).
            "ORDERD_VERIFICATION_EMAIL": "off",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
            **(env or {}),
        }
        # A None in `env` removes a setting, so the server runs with orderd's own default.
        self.env = {k: v for k, v in self.env.items() if v is not None}
        self.args = list(args)
        self.proc = None
        self.port = None
        self.http = requests.Session()

    def start(self):
        """Starts (or restarts) the process and waits for it to listen."""
        return self.launch().wait_ready()

    def launch(self):
        """Starts the process without waiting (several nodes starting at the same moment)."""
        self.log = open(self.log_path, "ab")
        self.log_offset = self.log.tell()  # on a restart, only this run's lines count
        self.http = requests.Session()
        self.proc = subprocess.Popen([BIN, "serve", *self.args], cwd=self.workdir, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def wait_ready(self):
        """Waits for a launched process to listen."""
        offset = self.log_offset
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            match = re.search(rb"listening on [^ ]+:(\d+)", self.log_path.read_bytes()[offset:])
            if match:
                self.port = int(match.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"orderd exited with {self.proc.returncode}:\n{self.log_text()}")
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError(f"orderd did not start:\n{self.log_text()}")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, token=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", TIMEOUT)
        return self.http.request(method, self.base + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    @property
    def database_url(self):
        return self.env["ORDERD_DATABASE_URL"]

    @property
    def on_postgres(self):
        return self.database_url.startswith(("postgresql://", "postgres://"))

    def sql(self, query, params=()):
        """Runs one statement on this server's database, written with ? placeholders, and returns
        its rows (a list of tuples). Works on SQLite and PostgreSQL; constraint failures raise
        IntegrityError."""
        if self.on_postgres:
            import psycopg2

            db = psycopg2.connect(self.database_url, connect_timeout=TIMEOUT)
            try:
                with db, db.cursor() as cur:
                    cur.execute(query.replace("%", "%%").replace("?", "%s"), tuple(params))
                    return cur.fetchall() if cur.description else []
            except psycopg2.IntegrityError as e:
                raise IntegrityError(str(e)) from e
            finally:
                db.close()
        db = sqlite3.connect(self.database_url.removeprefix("sqlite://"), timeout=TIMEOUT)
        try:
            with db:
                return db.execute(query, tuple(params)).fetchall()
        except sqlite3.IntegrityError as e:
            raise IntegrityError(str(e)) from e
        finally:
            db.close()

    def database_bytes(self):
        """Everything the database holds, as bytes: SQLite's files (database, WAL), or a pg_dump."""
        if self.on_postgres:
            from pg import PG_BIN

            dump = subprocess.run([str(PG_BIN / "pg_dump"), "--dbname", self.database_url], capture_output=True,
                                  timeout=60, check=True)
            return [dump.stdout]
        return [p.read_bytes() for p in self.workdir.iterdir() if p.name.startswith("orderd.db")]

    def cli(self, *args, input=None, env=None):
        """Runs an orderd subcommand against this server's database."""
        return subprocess.run([BIN, *args], cwd=self.workdir, env={**self.env, **(env or {})}, input=input,
                              capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A server shared by the tests that do not change its configuration."""
    s = Server(tmp_path_factory.mktemp("shared")).start()
    yield s
    code = s.stop()
    assert code == 0, f"shared server exited with {code}:\n{s.log_text()[-4000:]}"
    assert s.sanitizer_report() is None, s.sanitizer_report()


@pytest.fixture
def make_server(tmp_path):
    """Factory for a private server with extra settings: make_server(env={...})."""
    started = []

    def make(env=None, args=(), name=None):
        s = Server(tmp_path / (name or f"s{len(started)}"), env=env, args=args).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
    # A sanitizer build (make test, make tsan-test) reports into the log; any report fails the test.
    reports = [r for r in (s.sanitizer_report() for s in started) if r]
    assert not reports, reports[0]


@pytest.fixture
def smtp_sink():
    """A real SMTP server on 127.0.0.1 (aiosmtpd) collecting what it receives: sink.url for
    ORDERD_SMTP_URL, sink.wait_for(n), sink.stop() / sink.start() on the same port."""
    from smtp_sink import SmtpSink  # here, so the other tests run without python3-aiosmtpd

    sink = SmtpSink().start()
    yield sink
    sink.stop()


def wait_until(check, timeout=20.0, what="condition"):
    """Polls a condition the server makes true in the background (a sweeper, the outbox worker, the
    reconciler) until it holds, and returns its value; fails at the deadline saying `what` was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s")


def unique(prefix="u"):
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body.get("details", {}), dict)
    return body


def register(server, **fields):
    """Registers a fresh customer; returns (response body, credentials)."""
    name = unique()
    creds = {"email": f"{name}@example.com", "username": name, "password": "correct-horse-9", **fields}
    r = server.post("/register/", json=creds)
    assert r.status_code == 201, r.text
    return r.json(), creds


def login(server, email, password):
    r = server.post("/login/", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def customer_token(server):
    _, creds = register(server)
    return login(server, creds["email"], creds["password"])["access"]


def staff_token(server):
    name = unique("staff")
    email = f"{name}@example.com"
    p = server.cli("user", "create", "--email", email, "--username", name, "--staff", "--password-stdin",
                   input="staff-password-1\n")
    assert p.returncode == 0, p.stderr
    return login(server, email, "staff-password-1")["access"]


# --- orders and payments, as a customer makes them ----------------------------------------------------

GOOD = "4242424242424242"  # the mock gateway's test cards (docs/payment-gateway.md)
DECLINED = "4000000000000002"


def place(server, token, items=None, *, product_id=None, quantity=1, expect=None, **request):
    """POST /store/place_order/ with `items`, or with one line of `quantity` x `product_id`; returns the
    response. `expect` asserts its status (with the body in the message); `request` goes to the request
    (headers=...)."""
    if items is None:
        items = [{"product_id": product_id, "quantity": quantity}]
    r = server.post("/store/place_order/", token=token, json={"items": items}, **request)
    if expect is not None:
        assert r.status_code == expect, r.text
    return r


def pay(server, token, order, *, number=GOOD, amount=None, expiry="12/34", cvv="123", **request):
    """POST /store/make_payment/ for `order` (a body with id and total_amount) with a card that the mock
    gateway accepts unless told otherwise; returns the response. `amount` defaults to the order's
    total; `request` goes to the request (headers=...)."""
    body = {"order_id": order["id"], "amount": order["total_amount"] if amount is None else amount,
            "card_number": number, "expiry_date": expiry, "cvv": cvv}
    return server.post("/store/make_payment/", token=token, json=body, **request)


class MockGateway(LoggedProcess):
    """One `orderd mock-gateway` process on a free loopback port (docs/payment-gateway.md)."""

    def __init__(self, workdir: pathlib.Path, args=()):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "mock-gateway.log"
        self.args = list(args)
        self.proc = None
        self.port = None
        self.http = requests.Session()

    def start(self, port=0):
        """Starts the gateway on `port` (0: a free one) and waits for it to listen."""
        self.log = open(self.log_path, "ab")
        offset = self.log.tell()
        self.http = requests.Session()
        self.proc = subprocess.Popen([BIN, "mock-gateway", "--listen", f"127.0.0.1:{port}", *self.args], cwd=self.workdir,
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            match = re.search(rb"mock-gateway listening on [^ ]+:(\d+)", self.log_path.read_bytes()[offset:])
            if match:
                self.port = int(match.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"mock-gateway exited with {self.proc.returncode}:\n{self.log_text()}")
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError(f"mock-gateway did not start:\n{self.log_text()}")

    @property
    def url(self):
        """What ORDERD_PAYMENT_GATEWAY should be set to."""
        return f"http://127.0.0.1:{self.port}"

    def charge(self, key, number="4242424242424242", amount=13000, exp_month=12, exp_year=2099, cvc="123", **kw):
        body = {"amount": amount, "currency": "usd", "description": "test",
                "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}}
        headers = {"Idempotency-Key": key} if key is not None else {}
        kw.setdefault("timeout", TIMEOUT)
        return self.http.post(self.url + "/v1/charges", json=body, headers=headers, **kw)

    def find(self, key, **kw):
        kw.setdefault("timeout", TIMEOUT)
        return self.http.get(self.url + "/v1/charges/" + requests.utils.quote(key, safe=""), **kw)


@pytest.fixture
def mock_gateway(tmp_path):
    """A running mock payment gateway; stopped (and checked to exit 0) after the test."""
    gateway = MockGateway(tmp_path / "mock-gateway").start()
    yield gateway
    code = gateway.stop()
    assert code == 0, f"mock-gateway exited with {code}:\n{gateway.log_text()[-4000:]}"


def people_date(rfc3339):
    """A time as emails write it for people (common::format_for_people): "4 May 2024, 12:00 UTC"."""
    import datetime
    t = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)
    return f"{t.day} {t.strftime('%B')} {t.year}, {t.strftime('%H:%M')} UTC"
