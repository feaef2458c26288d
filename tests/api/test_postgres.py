"""PostgreSQL specifics of one node: the database going away and coming back, migrations run by
several processes at once, connection errors at start-up. Runs only with ORDERD_TEST_DB=postgres."""
import concurrent.futures
import re
import subprocess
import time

import pytest

from conftest import (BIN, Server, assert_error, customer_token, fresh_database_url, pay, place, postgres_only, staff_token,
                      unique, wait_until)
from pg import PgCluster

pytestmark = postgres_only




@pytest.fixture
def own_cluster():
    """A cluster of its own, for a test that stops and restarts the database server."""
    cluster = PgCluster().start()
    yield cluster
    cluster.stop()


def test_while_postgresql_is_down_requests_get_503_and_the_node_recovers_by_itself(tmp_path, own_cluster):
    url = own_cluster.url(own_cluster.create_database())
    s = Server(tmp_path / "node", env={"ORDERD_DATABASE_URL": url, "ORDERD_SWEEP_INTERVAL": "100ms"}).start()
    staff, token = staff_token(s), customer_token(s)
    p = s.post("/store/products/", token=staff, json={"name": unique("P"), "price": "5.00", "stock": 10}).json()
    order = {"items": [{"product_id": p["id"], "quantity": 1}]}
    assert s.post("/store/place_order/", token=token, json=order).status_code == 201
    assert s.get("/readyz").status_code == 200

    own_cluster.stop_server()
    assert_error(s.get("/readyz"), 503, "unavailable")
    assert_error(s.get("/store/products/", token=token), 503, "unavailable")
    assert_error(s.post("/store/place_order/", token=token, json=order), 503, "unavailable")
    assert_error(s.post("/login/", json={"email": "nobody@example.com", "password": "whatever-123"}), 503,
                 "unavailable")
    assert s.get("/healthz").status_code == 200  # the process itself is fine
    time.sleep(0.3)  # the sweeper and the outbox worker run into the outage too

    own_cluster.start_server()
    wait_until(lambda: s.get("/readyz").status_code == 200)
    assert s.post("/store/place_order/", token=token, json=order).status_code == 201
    assert s.get(f"/store/products/{p['id']}/", token=token).json()["stock"] == 8
    assert s.proc.poll() is None
    assert s.stop() == 0
    access = [l for l in s.log_text().splitlines() if "rid=" in l]
    assert access and not [l for l in access if re.search(r" 5(?!03)\d\d [\d.]+ms", l)]  # 503, never 500


def test_pooled_connections_the_database_closed_are_replaced_and_no_request_fails(make_server):
    """A transaction's BEGIN goes with its first statement (db/postgres.cpp, PostgresConnection::begin),
    so on a pooled connection the server closed while it was idle (a restart, an idle timeout, a
    failover) the loss shows on that statement. Nothing of the transaction was done then, so it runs
    again on another connection, and the client never sees it."""
    s = make_server()
    staff, token = staff_token(s), customer_token(s)
    product = s.post("/store/products/", token=staff, json={"name": unique("P"), "price": "5.00", "stock": 50}).json()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:  # several connections open, then idle
        orders = list(pool.map(lambda _: place(s, token, product_id=product["id"], expect=201).json(), range(16)))
    killed = s.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE application_name = 'orderd' AND datname = current_database()")
    assert len(killed) >= 2 and all(row[0] for row in killed)

    # One at a time, so each may draw a closed connection: placements, payments (claim and settle),
    # a staff read (a REPEATABLE READ transaction).
    for order in orders[:len(killed) + 2]:
        assert pay(s, token, order).status_code == 200
        place(s, token, product_id=product["id"], expect=201)
        assert s.get(f"/admin/orders/{order['id']}/", token=staff).json()["status"] == "paid"
    assert s.get(f"/store/products/{product['id']}/", token=token).json()["stock"] == 50 - 16 - len(killed) - 2
    assert s.stop() == 0
    log = s.log_text()
    assert "PostgreSQL connection lost" in log  # a closed connection was drawn, and replaced
    assert not [l for l in log.splitlines() if "rid=" in l and re.search(r" 5\d\d [\d.]+ms", l)]


def test_migrate_from_several_processes_at_once_applies_each_migration_once(tmp_path):
    url = fresh_database_url(tmp_path)

    def migrate(_):
        return subprocess.run([BIN, "migrate", "--database-url", url], capture_output=True, text=True, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(migrate, range(4)))
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    applied = [line for r in runs for line in (r.stdout + r.stderr).splitlines() if "applied migration" in line]
    s = Server(tmp_path / "check", env={"ORDERD_DATABASE_URL": url})
    versions = [v for (v,) in s.sql("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(versions) + 1)) and len(applied) == len(versions), applied
    again = migrate(0)
    assert again.returncode == 0 and "applied migration" not in again.stdout + again.stderr


def test_a_database_that_cannot_be_reached_stops_start_up_with_the_reason(tmp_path):
    url = fresh_database_url(tmp_path).rsplit("/", 1)[0] + "/no_such_database?sslmode=disable"
    url = url.replace("postgres@", "postgres:secret-password-42@")
    p = subprocess.run([BIN, "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       env={"ORDERD_DATABASE_URL": url, "ORDERD_ENV": "development", "ORDERD_LISTEN": "127.0.0.1:0",
                            "PATH": "/usr/bin:/bin"})
    assert p.returncode != 0
    assert "no_such_database" in p.stderr and "does not exist" in p.stderr
    assert "secret-password-42" not in p.stdout + p.stderr
    assert "listening" not in p.stderr


def test_a_concurrent_duplicate_registration_is_409_not_500(make_server):
    # Both requests pass the existence check, one insert meets the unique constraint users_email_key.
    s = make_server()
    name = unique()
    bodies = [{"email": f"{name}@example.com", "username": f"{name}{i}", "password": "correct-horse-9"}
              for i in range(8)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda b: s.post("/register/", json=b), bodies))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 7, [r.text for r in responses]
    assert all(r.json()["code"] == "email_taken" for r in responses if r.status_code == 409)


def test_a_deadlock_is_retried_and_the_order_succeeds(make_server, tmp_path):
    # Another client locks product B, orderd's placement locks A and waits for B, then that client
    # asks for A. PostgreSQL breaks the cycle by aborting the transaction whose backend runs the
    # deadlock check (deadlock_timeout after it began to wait) once the cycle exists. The test makes
    # that orderd's, so that the retry is what it sees: orderd's database gets a deadlock_timeout of
    # 3 s, ample for the other client to join the cycle, and the other client one of 10 s, so that
    # it never checks first. orderd must run the placement again and the buyer get 201.
    import psycopg2
    import psycopg2.sql

    url = fresh_database_url(tmp_path)
    setup = psycopg2.connect(url)
    try:
        setup.autocommit = True
        with setup.cursor() as cur:
            cur.execute("SELECT current_database()")
            cur.execute(psycopg2.sql.SQL("ALTER DATABASE {} SET deadlock_timeout = '3s'").format(
                psycopg2.sql.Identifier(cur.fetchone()[0])))
    finally:
        setup.close()
    s = make_server(env={"ORDERD_DATABASE_URL": url})
    assert s.sql("SHOW deadlock_timeout") == [("3s",)]
    staff, token = staff_token(s), customer_token(s)
    a, b = (s.post("/store/products/", token=staff, json={"name": unique("P"), "price": "1.00", "stock": 5}).json()
            for _ in range(2))
    other = psycopg2.connect(url)
    try:
        cur = other.cursor()
        cur.execute("SET deadlock_timeout = '10s'")
        cur.execute("SELECT stock FROM products WHERE id = %s FOR UPDATE", (b["id"],))
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            items = [{"product_id": a["id"], "quantity": 1}, {"product_id": b["id"], "quantity": 1}]
            placing = pool.submit(s.post, "/store/place_order/", token=token, json={"items": items})
            wait_until(lambda: s.sql("SELECT count(*) FROM pg_locks WHERE NOT granted") != [(0,)], timeout=10)
            # Waits for A until orderd's backend finds the deadlock and aborts its own transaction.
            try:
                cur.execute("UPDATE products SET stock = stock WHERE id = %s", (a["id"],))
            except psycopg2.errors.DeadlockDetected:
                pytest.fail("PostgreSQL aborted the other client's transaction, not orderd's")
            time.sleep(0.2)  # orderd's second attempt now waits for this client's locks
            other.rollback()
            r = placing.result(timeout=30)
    finally:
        other.close()
    assert r.status_code == 201, r.text
    retries = [line for line in s.log_text().splitlines() if "running it again" in line]
    assert len(retries) == 1 and "[40P01]" in retries[0], retries
    assert [p["stock"] for p in (s.get(f"/store/products/{x['id']}/", token=staff).json() for x in (a, b))] == [4, 4]


def test_requests_behind_a_lock_held_elsewhere_are_503_within_the_lock_wait_and_the_rest_still_answer(make_server):
    # No lock_timeout used to mean a request behind a lock held by hand (an administrator's LOCK TABLE,
    # a long migration) waited forever, and a handler pool's worth of them stopped every route,
    # /readyz included. Now a lock not free within 5 s is 503 `unavailable` and the thread is free again.
    import psycopg2

    s = make_server(env={"ORDERD_WORKERS": "4"})
    staff, token = staff_token(s), customer_token(s)
    p = s.post("/store/products/", token=staff, json={"name": unique("Held"), "price": "5.00", "stock": 100}).json()
    holder = psycopg2.connect(s.database_url, connect_timeout=10)
    try:
        holder.cursor().execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            orders = [pool.submit(place, s, token, product_id=p["id"], timeout=60) for _ in range(8)]
            # While the pool's threads wait their turn, a route that needs no product answers all the same.
            ready = s.get("/readyz", timeout=30)
            answers = [f.result() for f in orders]
        assert ready.status_code == 200, ready.text
        for r in answers:
            assert_error(r, 503, "unavailable")
        assert time.monotonic() - started < 30  # two rounds of four threads, 5 s each, not forever
        assert "55P03" in s.log_text()
    finally:
        holder.rollback()
        holder.close()
    assert place(s, token, product_id=p["id"]).status_code == 201
    assert s.get(f"/store/products/{p['id']}/", token=staff).json()["stock"] == 99  # nothing taken by the 503s
