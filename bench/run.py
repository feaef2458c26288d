#!/usr/bin/python3
"""The benchmark harness behind `make bench`.

Starts the Release binary on loopback with a fresh SQLite database (with --db postgres, or
BENCH_DB=postgres in the environment: a fresh database in a throwaway PostgreSQL 15 cluster, the
test harness's tests/api/pg.py, removed at the end), loads 100 products with ample stock and two
customers, then runs wrk for each scenario and prints one table (requests/s, p50, p99, errors, the
server's peak RSS and CPU during the scenario), also written as markdown. After the run it checks
that no unit of stock was lost or invented: for every product, the initial stock equals the current
stock plus the quantities held by pending and paid orders.

The throwaway cluster runs with fsync, synchronous_commit and full_page_writes off (as in the
tests), and the RSS and CPU columns are orderd's alone, not PostgreSQL's. On PostgreSQL the run also
measures the database's own ceiling on the same cluster: pgbench -N (a 4-statement write transaction)
and -S (one primary-key read, alone and again beside the same background orders as
products_while_ordering), -M prepared with as many clients as wrk's connections and the same
duration, after each round of scenarios, and prints orderd's ratios to them (issue #21's targets).
With --rounds N the scenarios and pgbench alternate N times; ratios are taken within a round and the
median is printed.

Only the standard library, and python3-psycopg2 for PostgreSQL; wrk and postgresql-15 from Debian
(scripts/install-deps --bench, with BENCH_DB=postgres for PostgreSQL's), and with --webhooks a C
compiler for the receiver (bench/receiver.c, built into the run's folder). Loopback only, every step
bounded in time.
"""
import argparse
import contextlib
import csv
import json
import os
import pathlib
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL (throwaway cluster, fsync off)"}
SCENARIOS = ["healthz", "products", "products_while_ordering", "place_order", "orders", "make_payment", "refund",
             "login"]
REFUND_ORDERS = 200  # paid just before the refund scenario, so the mock gateway still knows their charges
PRODUCTS = 100
STOCK = 1_000_000_000
PASSWORD = "bench-password-1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read()
        return json.loads(text) if text else None


def fresh_database(kind, workdir, cleanup):
    """ORDERD_DATABASE_URL of an empty database and the cluster it is in (None for SQLite): a SQLite
    file in workdir, or a new database in a throwaway PostgreSQL cluster whose removal is registered
    on cleanup (an ExitStack)."""
    if kind == "sqlite":
        return f"sqlite://{workdir / 'orderd.db'}", None
    sys.path.insert(0, str(ROOT / "tests" / "api"))
    from pg import PgCluster

    cluster = PgCluster()
    cleanup.callback(cluster.stop)  # also removes a half-started cluster's directory
    print("bench: starting a throwaway PostgreSQL cluster ...", file=sys.stderr, flush=True)
    cluster.start()
    return cluster.url(cluster.create_database()), cluster


PGBENCH_MODES = {"pgbench_N": "-N", "pgbench_S": "-S", "pgbench_S_while_ordering": "-S"}
# pgbench_S_while_ordering: -S while orderd places orders beside it, as in products_while_ordering (the
# same background, the same cores): the database's own read ceiling under that load.
PGBENCH_BESIDE = {"pgbench_S_while_ordering": "place_order"}
PGBENCH_LABELS = {"pgbench_N": "pgbench -N", "pgbench_S": "pgbench -S",
                  "pgbench_S_while_ordering": "pgbench -S beside the same orders"}


def pgbench_database(cluster, scale):
    """A pgbench database (pgbench -i at `scale`) in the same cluster as orderd's; returns its name."""
    name = cluster.create_database()
    print(f"bench: pgbench -i -s {scale} ...", file=sys.stderr, flush=True)
    subprocess.run([str(pgbench_bin()), "-i", "-q", "-s", str(scale), *pgbench_target(cluster, name)],
                   capture_output=True, text=True, timeout=600, check=True)
    return name


def pgbench_bin():
    from pg import PG_BIN

    return PG_BIN / "pgbench"


def pgbench_target(cluster, database):
    return ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", database]


def seconds(duration):
    """wrk's duration ("15s", "2m", "1h") in whole seconds, for pgbench -T."""
    m = re.fullmatch(r"(\d+)([smh]?)", duration)
    if not m:
        sys.exit(f"bench: cannot read the duration {duration!r}")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def run_pgbench(cluster, database, name, args, server, env):
    """pgbench in the mode `name` names, -M prepared, as many clients as wrk has connections, with
    wrk's duration, after a warm-up as long as wrk's (and with orderd's PGBENCH_BESIDE scenario beside
    it, for the modes that name one). A result row like run_scenario's (no RSS or CPU: those columns
    are orderd's)."""
    common = [str(pgbench_bin()), "-n", PGBENCH_MODES[name], "-M", "prepared", "-c", str(args.connections),
              "-j", str(args.threads), *pgbench_target(cluster, database)]
    subprocess.run([*common[:-1], "-T", str(seconds(args.warmup)), common[-1]], capture_output=True, timeout=600,
                   check=True)
    with beside(server, PGBENCH_BESIDE.get(name), seconds(args.duration), env) as behind:
        done = subprocess.run([*common[:-1], "-T", str(seconds(args.duration)), "-r", common[-1]],
                              capture_output=True, text=True, timeout=600, check=True)
    tps = float(re.search(r"^tps = ([\d.]+)", done.stdout, re.M).group(1))
    latency = re.search(r"^latency average = ([\d.]+) ms", done.stdout, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", done.stdout, re.M)
    result = {"name": name, "rps": tps, "requests": 0, "p50": float(latency.group(1)) if latency else float("nan"),
              "p99": float("nan"), "errors": int(failed.group(1)) if failed else 0, "rss": float("nan"),
              "cpu": float("nan")}
    return add_beside(result, behind)


def connect(database_url):
    """A DB-API connection to the server's database, SQLite or PostgreSQL; the caller closes it."""
    if database_url.startswith("sqlite://"):
        return sqlite3.connect(database_url.removeprefix("sqlite://"), timeout=30)
    import psycopg2

    return psycopg2.connect(database_url, connect_timeout=30)


class Server:
    def __init__(self, binary, workdir, database_url, env):
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.proc = None
        self.env = {**os.environ, "ORDERD_LISTEN": f"127.0.0.1:{self.port}", "ORDERD_DATABASE_URL": database_url,
                    "ORDERD_MAIL_DIR": str(workdir / "mail"), **env}
        self.base = f"http://127.0.0.1:{self.port}"

    def cli(self, *args, stdin=None):
        return subprocess.run([self.binary, *args], env=self.env, cwd=self.workdir, input=stdin, text=True,
                              capture_output=True, timeout=120, check=True).stdout

    def start(self):
        """Starts the server; returns milliseconds from spawn to the first answered /healthz."""
        self.log = open(self.workdir / "orderd.log", "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, cwd=self.workdir, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = started + 20
        while time.monotonic() < deadline:
            try:
                call(self.base, "GET", "/healthz", timeout=1)
                return (time.monotonic() - started) * 1000
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit(f"orderd exited with {self.proc.returncode}; see {self.workdir / 'orderd.log'}")
                time.sleep(0.002)
        sys.exit("orderd did not answer /healthz within 20 s")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.log.close()
        return code

    def kill(self):
        """After a failure: the server must not outlive the harness (nor its database)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)

    def cpu_seconds(self):
        fields = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def reset_peak_rss(self):
        pathlib.Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def peak_rss_mib(self):
        status = pathlib.Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def load(server, workdir):
    """100 products, a staff user, a buyer (who places and pays) and a reader with 50 orders."""
    products = workdir / "products.csv"
    with open(products, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "description", "price", "stock"])
        for i in range(PRODUCTS):
            writer.writerow([f"Bench product {i:03}", "for the benchmark", f"{1 + i % 50}.{i % 100:02}", STOCK])
    server.cli("product", "import", str(products))
    accounts = {}
    for name in ["buyer", "reader"]:
        email = f"{name}@bench.example"
        call(server.base, "POST", "/register/", {"email": email, "username": name, "password": PASSWORD})
        accounts[name] = {"email": email, "token": call(server.base, "POST", "/login/",
                                                        {"email": email, "password": PASSWORD})["access"]}
    listed = call(server.base, "GET", "/store/products/?page_size=100", token=accounts["buyer"]["token"])
    first = min(p["id"] for p in listed["results"])
    for i in range(50):
        call(server.base, "POST", "/store/place_order/",
             {"items": [{"product_id": first + i, "quantity": 1}]}, token=accounts["reader"]["token"])
    return accounts, first


def refund_setup(server, buyer, first):
    """A staff member's token and REFUND_ORDERS paid orders (comma-separated ids) for the refund scenario.
    Paid right before it runs: the in-process mock remembers the newest 10,000 charges, and make_payment
    makes many more."""
    email = "staff@bench.example"
    if not getattr(server, "staff_created", False):  # once, whatever the number of rounds
        server.cli("user", "create", "--email", email, "--username", "staff", "--staff", "--password-stdin",
                   stdin=PASSWORD + "\n")
        server.staff_created = True
    token = call(server.base, "POST", "/login/", {"email": email, "password": PASSWORD})["access"]
    ids = []
    for i in range(REFUND_ORDERS):
        order = call(server.base, "POST", "/store/place_order/",
                     {"items": [{"product_id": first + i % PRODUCTS, "quantity": 1}]}, token=buyer["token"])
        call(server.base, "POST", "/store/make_payment/",
             {"order_id": order["id"], "amount": order["total_amount"], "card_number": "4242424242424242",
              "expiry_date": "12/34", "cvv": "123"}, token=buyer["token"])
        ids.append(str(order["id"]))
    return token, ",".join(ids)


class WebhookReceiver:
    """--webhooks: bench/receiver.c on loopback, answering 204 to every delivery on kept-alive HTTP/1.1
    connections. It stands for a shop's system on another machine, so it is C with epoll and runs at
    nice 19: on the cores the server also uses, it takes only what it must, and the least the server
    leaves (an asyncio receiver in this process took half a core at 3,000 deliveries a second)."""

    def __init__(self, cleanup, workdir):
        binary = pathlib.Path(workdir) / "receiver"
        subprocess.run(["cc", "-O2", "-D_GNU_SOURCE", "-o", str(binary), str(ROOT / "bench" / "receiver.c")],
                       check=True)
        self.proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, text=True,
                                     preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, 19))
        self.port = int(self.proc.stdout.readline())
        self.count = 0
        cleanup.callback(self.stop)

    def cpu_seconds(self):
        """The CPU time it has used so far (user and system)."""
        fields = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        """Stops it; `count` is then the deliveries it answered."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.count = int(self.proc.communicate(timeout=10)[0].strip() or 0)


def subscribe_webhooks(server, cleanup, workdir):
    """An endpoint subscribed to every event type, at the receiver; returns (staff token, endpoint id,
    receiver). The scenarios then run with it disabled and enabled in turn (see main)."""
    receiver = WebhookReceiver(cleanup, workdir)
    email = "hooks@bench.example"
    server.cli("user", "create", "--email", email, "--username", "hooks", "--staff", "--password-stdin",
               stdin=PASSWORD + "\n")
    token = call(server.base, "POST", "/login/", {"email": email, "password": PASSWORD})["access"]
    events = ["order.placed", "order.paid", "order.cancelled", "order.expired", "order.fulfilled",
              "order.delivered", "order.refunded", "order.returned", "payment.failed", "product.low_stock"]
    endpoint = call(server.base, "POST", "/admin/webhooks/",
                    {"url": f"http://127.0.0.1:{receiver.port}/hooks", "events": events}, token=token)
    return token, endpoint["id"], receiver


def webhook_backlog(server):
    """orderd_webhook_queue_depth from /metrics: deliveries not yet made."""
    with urllib.request.urlopen(server.base + "/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(r"^orderd_webhook_queue_depth ([\d.e+]+)$", text, re.M)
    return int(float(found.group(1))) if found else 0


def drain_webhooks(server, timeout=120):
    """Seconds until every delivery is made (the worker catching up after a scenario)."""
    started = time.monotonic()
    while webhook_backlog(server) > 0:
        if time.monotonic() - started > timeout:
            raise RuntimeError("the webhook queue did not drain")
        time.sleep(0.2)
    return time.monotonic() - started


def parse_wrk(output):
    def latency(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return {"rps": rps, "requests": requests, "p50": latency("50"), "p99": latency("99"), "errors": errors}


def wait_for_slow_lane(server, timeout=60):
    """Until /metrics shows no request in the slow lane (at most `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(server.base + "/metrics", timeout=5) as response:
            text = response.read().decode()
        if re.search(r"^orderd_http_slow_lane_requests 0(\.0)?$", text, re.M):
            return
        time.sleep(0.1)
    raise RuntimeError("the slow lane did not empty after the warm-up")


# Scenarios measured while another runs beside them: (the measured script, the background script).
# products_while_ordering: the catalogue's first page while orders keep changing its stock, so the
# kept pages keep being retired (issue #21's "products while orders are being placed").
COMBINED = {"products_while_ordering": ("products", "place_order")}
BACKGROUND_CONNECTIONS = 16


@contextlib.contextmanager
def beside(server, background, measured_seconds, env):
    """Runs orderd's `background` scenario (BACKGROUND_CONNECTIONS connections) around the block: it
    starts first and runs a second longer, so it covers the whole measured run. Yields a dict that
    holds its name and wrk's figures after the block (empty when `background` is None)."""
    behind = {}
    if background is None:
        yield behind
        return
    total = measured_seconds + 1
    process = subprocess.Popen(["wrk", "-t1", f"-c{BACKGROUND_CONNECTIONS}", f"-d{total:g}s", "--timeout", "10s",
                                "-s", str(ROOT / "bench" / "lua" / f"{background}.lua"), server.base],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield behind
        out, _ = process.communicate(timeout=total + 60)
    finally:
        process.kill()
    behind.update(parse_wrk(out), name=background)


def add_beside(result, behind):
    if behind:
        result["beside"] = f"{behind['name']} beside it: {behind['rps']:,.0f} requests/s, {behind['errors']} errors"
        result["errors"] += behind["errors"]
    return result


def run_scenario(server, name, args, env):
    measured, background = COMBINED.get(name, (name, None))
    script = ROOT / "bench" / "lua" / f"{measured}.lua"
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}", "--latency",
               "--timeout", "10s", "-s", str(script), server.base]
    if background is None:
        return run_wrk(server, command, args, env)
    with beside(server, background, seconds(args.duration), env) as behind:
        result = run_wrk(server, command, args, env)
    return add_beside(result, behind)


def run_wrk(server, command, args, env):
    # A short unmeasured run first: connections, caches and the allocator warm up.
    subprocess.run([*command[:3], f"-d{args.warmup}", *command[4:]], cwd=ROOT, env=env, capture_output=True,
                   timeout=120, check=True)
    # wrk leaves the warm-up's last requests behind; logins among them still wait for a password hash,
    # and would fill the slow lane's queue at the measured run's start (503 too_busy).
    wait_for_slow_lane(server)
    server.reset_peak_rss()
    cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=True)
    cpu = (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before) * 100
    result = parse_wrk(done.stdout)
    result.update(rss=server.peak_rss_mib(), cpu=cpu)
    return result


def check_stock(database_url):
    """Initial stock == current stock + what pending and paid orders hold, for every product.
    The same SQL on SQLite and PostgreSQL."""
    with contextlib.closing(connect(database_url)) as db:
        cur = db.cursor()
        cur.execute(
            "SELECT p.id, p.stock + coalesce((SELECT sum(i.quantity) FROM order_items i JOIN orders o"
            " ON o.id = i.order_id WHERE i.product_id = p.id AND o.status IN ('pending_payment', 'paid')), 0)"
            " FROM products p")
        rows = cur.fetchall()
        cur.execute("SELECT coalesce(sum(quantity), 0) FROM order_items")
        sold_total = int(cur.fetchone()[0])  # PostgreSQL's sum is a numeric (Decimal)
    wrong = [pid for pid, accounted in rows if accounted != STOCK]
    return wrong, sold_total


def table(results, startup_ms, args, machine):
    healthz = {r["round"]: r["rps"] for r in results if r["name"] == "healthz"}  # within each round
    lines = [f"wrk -t{args.threads} -c{args.connections} -d{args.duration} on loopback; database:"
             f" {DATABASES[args.db]}; {machine}; start-up to first answered /healthz: {startup_ms:.0f} ms", "",
             "| scenario | requests/s | vs /healthz | p50 ms | p99 ms | errors | peak RSS MiB | server CPU % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r["name"] in PGBENCH_MODES:  # pgbench's average latency stands in the p50 column
            lines.append(f"| {r['name']} (round {r['round']}) | {r['rps']:,.0f} | - | avg {r['p50']:.2f} | - |"
                         f" {r['errors']} | - | - |")
            continue
        ratio = f"{r['rps'] / healthz[r['round']] * 100:.0f}%" if r["round"] in healthz else "-"
        label = r["name"] if args.rounds == 1 else f"{r['name']} (round {r['round']})"
        lines.append(f"| {label} | {r['rps']:,.0f} | {ratio} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']}"
                     f" | {r['rss']:.1f} | {r['cpu']:.0f} |")
    notes = [f"- {r['name']} (round {r['round']}): {r['beside']} ({BACKGROUND_CONNECTIONS} connections)"
             for r in results if "beside" in r]
    return "\n".join(lines + ([""] + notes if notes else []))


# Issue #19's target: these, with an endpoint subscribed, within 10% of without.
WEBHOOK_SCENARIOS = ["place_order", "make_payment", "refund"]


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def webhook_table(results, args):
    seconds = float(args.duration.rstrip("s"))
    lines = ["| scenario | without req/s | with req/s | with / without | p99 without / with ms | backlog at the end"
             " | drained in s | receiver CPU % |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in WEBHOOK_SCENARIOS:
        pairs = [(r, w) for r in results if r["name"] == name
                 for w in results if w["name"] == f"{name} +webhooks" and w["round"] == r["round"]]
        for without, with_ in pairs:
            lines.append(f"| {name} (round {with_['round']}) | {without['rps']:,.0f} | {with_['rps']:,.0f}"
                         f" | {with_['rps'] / without['rps'] * 100:.0f}% | {without['p99']:.1f} / {with_['p99']:.1f}"
                         f" | {with_['backlog']:,} | {with_['drain']:.1f} | {with_['receiver_cpu'] / seconds * 100:.0f} |")
        if len(pairs) > 1:
            share = median([w["rps"] / r["rps"] * 100 for r, w in pairs])
            lines.append(f"| {name}: median | | | {share:.0f}% (target >= 90%:"
                         f" {'met' if share >= 90 else 'not met'}) | | | | |")
    return "\n".join(lines)


# Issue #21's targets: orderd's scenario against pgbench's mode, both in the same round.
RATIO_TARGETS = [("place_order", "pgbench_N", 50), ("make_payment", "pgbench_N", 30),
                 ("products_while_ordering", "pgbench_S", 50),
                 ("products_while_ordering", "pgbench_S_while_ordering", 50)]


def ratios(results):
    """The table of orderd's rates over pgbench's, each taken within one round; the median over rounds."""
    def rate(name, round_):
        return next((r["rps"] for r in results if r["name"] == name and r["round"] == round_), None)
    rounds = sorted({r["round"] for r in results})
    lines = ["| scenario | over | per round | median | target |", "|---|---|---:|---:|---:|"]
    for scenario, mode, target in RATIO_TARGETS:
        values = [rate(scenario, n) / rate(mode, n) * 100 for n in rounds if rate(scenario, n) and rate(mode, n)]
        if not values:
            continue
        middle = median(values)
        met = "met" if middle >= target else "not met"
        lines.append(f"| {scenario} | {PGBENCH_LABELS[mode]} | {' / '.join(f'{v:.0f}%' for v in values)}"
                     f" | {middle:.0f}% | >= {target}% ({met}) |")
    return "\n".join(lines) if len(lines) > 2 else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / "build" / "orderd"))
    parser.add_argument("--db", choices=DATABASES, default=os.environ.get("BENCH_DB") or "sqlite",
                        help="sqlite (a fresh file) or postgres (a throwaway PostgreSQL 15 cluster);"
                             " default $BENCH_DB, else sqlite")
    parser.add_argument("--duration", default="15s", help="wrk duration per scenario (default 15s)")
    parser.add_argument("--warmup", default="2s", help="unmeasured wrk run before each scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.md"))
    parser.add_argument("--password-cost", default="owasp",
                        help="argon2id cost for the login scenario (default owasp: 12 MiB, 3 passes per hash)")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--webhooks", action="store_true",
                        help="subscribe a local receiver to every webhook event (docs/webhooks.md); place_order,"
                             " make_payment and refund then run without and with it, in turn")
    parser.add_argument("--rounds", type=int, default=1,
                        help="how many times the scenarios (and on PostgreSQL pgbench -N and -S) run, alternating")
    parser.add_argument("--pgbench", default="on", choices=["on", "off"],
                        help="on PostgreSQL, run pgbench -N and -S after each round (default on)")
    parser.add_argument("--pgbench-scale", type=int, default=10, help="pgbench -i -s (default 10)")
    args = parser.parse_args()
    if args.db not in DATABASES:  # argparse checks choices only when --db is given, not $BENCH_DB
        sys.exit(f"BENCH_DB: {args.db!r} is neither sqlite nor postgres")
    # make, timeout or a CI runner stop us with SIGTERM: unwind, so that the cleanups below run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))

    # Unwound in reverse on success and failure alike: the server is stopped, then the PostgreSQL
    # cluster (if any) stopped and removed, then the working directory removed.
    with tempfile.TemporaryDirectory(prefix="orderd-bench-") as tmp, contextlib.ExitStack() as cleanup:
        workdir = pathlib.Path(tmp)
        database_url, cluster = fresh_database(args.db, workdir, cleanup)
        server = Server(args.bin, workdir, database_url,
                        {"ORDERD_PASSWORD_COST": args.password_cost, "ORDERD_RESERVATION_TTL": "24h",
                         "ORDERD_REGISTRATIONS_PER_HOUR": "0",
                         # The setup's registrations would queue confirm-your-email messages that the
                         # worker then writes during the measured run.
                         "ORDERD_VERIFICATION_EMAIL": "off",
                         "ORDERD_LOG_LEVEL": args.log_level,
                         "ORDERD_JWT_SECRET": "bench-secret-0123456789abcdef0123456789",
                         "ORDERD_WEBHOOK_ALLOW_PRIVATE": "true"})
        cleanup.callback(server.kill)
        startup_ms = server.start()
        accounts, first = load(server, workdir)
        hooks = subscribe_webhooks(server, cleanup, workdir) if args.webhooks else None
        pgbench_db = pgbench_database(cluster, args.pgbench_scale) if cluster and args.pgbench == "on" else None
        results = []
        for round_ in range(1, args.rounds + 1):
            for name in args.scenarios.split(","):
                account = accounts["reader" if name == "orders" else "buyer"]
                env = {**os.environ, "BENCH_TOKEN": account["token"], "BENCH_FIRST_PRODUCT": str(first),
                       "BENCH_PRODUCTS": str(PRODUCTS), "BENCH_EMAIL": account["email"], "BENCH_PASSWORD": PASSWORD}
                if name == "refund":
                    env["BENCH_TOKEN"], env["BENCH_REFUND_ORDERS"] = refund_setup(server, accounts["buyer"], first)
                # With --webhooks, the scenarios that publish run twice in a row: the endpoint disabled
                # (nothing is written), then enabled.
                for hooked in (False, True) if hooks and name in WEBHOOK_SCENARIOS else (None,):
                    label = f"{name} +webhooks" if hooked else name
                    if hooked is not None:
                        call(server.base, "PATCH", f"/admin/webhooks/{hooks[1]}/", {"enabled": hooked}, token=hooks[0])
                    print(f"bench: {label} (round {round_}) ...", file=sys.stderr, flush=True)
                    receiver_cpu = hooks[2].cpu_seconds() if hooks else 0
                    result = {**run_scenario(server, name, args, env), "name": name, "round": round_}
                    if hooked:
                        result.update(name=label, receiver_cpu=hooks[2].cpu_seconds() - receiver_cpu,
                                      backlog=webhook_backlog(server), drain=drain_webhooks(server))
                    results.append(result)
            for name in PGBENCH_MODES if pgbench_db else []:
                print(f"bench: {name} (round {round_}) ...", file=sys.stderr, flush=True)
                env = {**os.environ, "BENCH_TOKEN": accounts["buyer"]["token"], "BENCH_FIRST_PRODUCT": str(first),
                       "BENCH_PRODUCTS": str(PRODUCTS)}
                results.append({**run_pgbench(cluster, pgbench_db, name, args, server, env), "round": round_})
        code = server.stop()
        if hooks:
            hooks[2].stop()
        wrong, sold = check_stock(database_url)

    machine = f"{os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}"
    report = table(results, startup_ms, args, machine)
    if against_pgbench := ratios(results):
        report += "\n\norderd over pgbench on the same cluster, within each round:\n\n" + against_pgbench
    if hooks:
        report += ("\n\nWith an endpoint subscribed to every event over without (the run just before it), and"
                   f" what the receiver took ({hooks[2].count:,} deliveries in all):\n\n" + webhook_table(results, args))
    print(report)
    print(f"\nstock check: {PRODUCTS - len(wrong)}/{PRODUCTS} products add up ({sold:,} units sold);"
          f" server exit code {code}")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{report}\n")
    if wrong or code != 0 or any(r["errors"] for r in results if r["name"] != "login"):
        sys.exit("bench: FAILED (lost stock, errors or an unclean exit)")


if __name__ == "__main__":
    main()
