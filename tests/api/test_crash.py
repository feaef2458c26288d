"""Crash safety: under a steady load of concurrent orders and payments, `kill -9` the server at random
moments, restart it on the same database, and check the invariants through the database (invariants.py).
Runs on SQLite and, with ORDERD_TEST_DB=postgres, on PostgreSQL.

Two gateways: the in-process mock, whose memory dies with the process (a payment left processing is
then settled as failed, which is true: nothing was charged anywhere), and `orderd mock-gateway`, which
outlives orderd (a processing payment whose charge went through must be settled as paid, and no order
may be charged twice). Figures go to the log of the test (pytest -s or -rA) and docs/reliability.md."""
import concurrent.futures
import random
import signal
import time

import pytest
import requests

from conftest import BACKEND, MockGateway, Server, customer_token, pay, place, staff_token, wait_until
from invariants import Load, check_invariants, check_seen, make_products, wait_reconciled

KILLS = 8
CLIENTS = 8
PRODUCTS = 4
STOCK = 1_000_000


def crash_under_load(server, gateway=None, seed=12):
    """Runs the load, kills the server KILLS times at random moments, restarts it each time; returns
    the load and the figures."""
    rng = random.Random(seed)
    staff = staff_token(server)
    tokens = [customer_token(server) for _ in range(CLIENTS)]
    initial = make_products(server, staff, PRODUCTS, STOCK)
    load = Load(server, tokens, initial).start()
    started = time.monotonic()
    kills = []
    try:
        for _ in range(KILLS):
            before = load.successes()
            # Let the load get going (at least a few successes) before a random moment of death.
            wait_until(lambda: load.successes() >= before + 20, timeout=30, what="progress before a kill")
            time.sleep(rng.uniform(0.05, 1.0))
            code = server.stop(sig=signal.SIGKILL)
            assert code == -signal.SIGKILL, code
            kills.append(load.successes())
            server.start()
        before = load.successes()
        wait_until(lambda: load.successes() >= before + 20, timeout=30, what="progress after the last restart")
    finally:
        load.stop()
    loaded = time.monotonic() - started
    wait_reconciled(server)
    figures = check_invariants(server, initial)
    check_seen(server, load.seen)
    assert not load.unexpected, load.unexpected[:5]
    assert server.proc.poll() is None
    reconciled = server.log_text().count("reconciled payment")
    summary = {"backend": BACKEND, "gateway": "http" if gateway else "mock", "kills": len(kills),
               "requests": load.requests, "statuses": load.statuses, "connection_errors": load.connection_errors,
               "seen": {k: len(v) for k, v in load.seen.items()}, "orders": figures,
               "reconciled_payments": reconciled, "load_seconds": round(loaded, 1),
               "total_seconds": round(time.monotonic() - started, 1)}
    print("crash figures:", summary)
    return load, figures


def test_kill_9_under_load_with_the_in_process_gateway(tmp_path):
    server = Server(tmp_path / "node", env={"ORDERD_GATEWAY_TIMEOUT": "1s", "ORDERD_WORKERS": "8"}).start()
    try:
        load, figures = crash_under_load(server)
        assert load.seen["paid"] and load.seen["placed"]
    finally:
        server.stop()


def test_kill_9_under_load_with_the_http_gateway_charges_at_most_once(tmp_path):
    # The gateway answers 200 ms after deciding: a kill in that window leaves a payment processing
    # whose charge went through. The gateway survives the kills and remembers it.
    gateway = MockGateway(tmp_path / "gw", args=["--latency", "200ms"]).start()
    server = Server(tmp_path / "node", env={"ORDERD_GATEWAY_TIMEOUT": "1s", "ORDERD_WORKERS": "8",
                                            "ORDERD_PAYMENT_GATEWAY": gateway.url}).start()
    try:
        load, figures = crash_under_load(server, gateway, seed=34)
        assert load.seen["paid"]
        # What the gateway charged, key by key, against what the database says.
        charged_per_order = {}
        for order_id, key, status, reference in server.sql(
                "SELECT order_id, idempotency_key, status, gateway_reference FROM payments"):
            found = gateway.find(key)
            charged = found.status_code == 200 and found.json()["status"] == "succeeded"
            if charged:
                charged_per_order[order_id] = charged_per_order.get(order_id, 0) + 1
                assert status == "succeeded" and reference == found.json()["id"], (order_id, key, status)
            else:
                assert status == "failed", (order_id, key, status, found.status_code)
        paid = {order_id for (order_id,) in server.sql("SELECT id FROM orders WHERE status = 'paid'")}
        assert set(charged_per_order) == paid
        assert all(n == 1 for n in charged_per_order.values()), charged_per_order  # never charged twice
    finally:
        server.stop()
        assert gateway.stop() == 0


def placed_order(server, name):
    """A customer's token and an unpaid order of one unit of a new product `name` (10.00)."""
    staff, customer = staff_token(server), customer_token(server)
    product = server.post("/store/products/", token=staff, json={"name": name, "price": "10.00", "stock": 5})
    return customer, place(server, customer, product_id=product.json()["id"], expect=201).json()


def charge_under_way(pool, server, customer, order, **request):
    """Pays `order` on `pool`; returns the payment's future once its charge is under way (its row written)."""
    paying = pool.submit(pay, server, customer, order, **request)
    wait_until(lambda: server.sql("SELECT COUNT(*) FROM payments")[0][0] == 1, what="the charge under way")
    return paying


def test_a_key_whose_request_died_with_the_process_is_taken_over_after_the_lease(tmp_path):
    # A kill -9 after a keyed payment claimed its Idempotency-Key left the key "in progress" for its 24
    # hours: every retry with it waited 10 s and got 409 idempotency_conflict. After idempotency_lease
    # a retry takes the claim over and is answered for what the order is now (found by an audit).
    gateway = MockGateway(tmp_path / "gw", args=["--latency", "1s"]).start()
    server = Server(tmp_path / "node", env={"ORDERD_PAYMENT_GATEWAY": gateway.url, "ORDERD_GATEWAY_TIMEOUT": "1500ms",
                                            "ORDERD_IDEMPOTENCY_LEASE": "3s"}).start()
    try:
        customer, order = placed_order(server, "Lease")
        key = {"Idempotency-Key": "pay-before-the-kill"}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = charge_under_way(pool, server, customer, order, headers=key)
            server.stop(sig=signal.SIGKILL)
            try:
                first.result()
            except requests.RequestException:
                pass  # the connection died with the server
        assert server.sql("SELECT status FROM idempotency_keys") == [(None,)]  # claimed, never answered
        server.start()
        retried = pay(server, customer, order, headers=key)
        assert retried.status_code != 409 or retried.json()["code"] != "idempotency_conflict", retried.text
        wait_until(lambda: server.sql("SELECT status FROM orders WHERE id = ?", (order["id"],)) == [("paid",)],
                   what="the order paid once its charge is reconciled")
        assert server.sql("SELECT COUNT(*) FROM payments WHERE status = 'succeeded'") == [(1,)]
        assert "this request does the work" in server.log_text()
    finally:
        server.stop()
        assert gateway.stop() == 0


def test_a_signal_right_after_listening_is_a_graceful_stop(tmp_path):
    # orderd announces "listening" and a supervisor may answer with SIGTERM at once: that must be a
    # clean stop (exit 0), not death by the signal's default action. (It was, now and then: the
    # handlers were installed only after the background tasks had started.)
    for i in range(10):
        s = Server(tmp_path / f"s{i}").start()
        assert s.stop(signal.SIGTERM if i % 2 else signal.SIGINT) == 0, s.log_text()[-2000:]


def test_sighup_is_logged_and_ignored(tmp_path):
    # SIGHUP's default action killed orderd mid-request (a closed terminal, a log rotation's habit);
    # it has nothing to reload, so it now says so and goes on serving (found by an audit).
    server = Server(tmp_path / "node").start()
    try:
        server.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "received SIGHUP; ignored" in server.log_text(), what="the SIGHUP logged")
        assert server.get("/healthz").status_code == 200 and server.proc.poll() is None
    finally:
        assert server.stop() == 0


def test_past_shutdown_timeout_clients_hear_the_close_at_once_and_the_payment_still_settles(tmp_path):
    # A payment waits 3 s for the gateway; SIGTERM with shutdown_timeout 500ms. The connection used to
    # stay open, unanswered, until the process exited; now it closes at the timeout, while the
    # payment's handler runs on and settles what the gateway charged before the process exits.
    gateway = MockGateway(tmp_path / "gw", args=["--latency", "3s"]).start()
    server = Server(tmp_path / "node", env={"ORDERD_PAYMENT_GATEWAY": gateway.url, "ORDERD_GATEWAY_TIMEOUT": "6s",
                                            "ORDERD_SHUTDOWN_TIMEOUT": "500ms"}).start()
    try:
        customer, order = placed_order(server, "Late")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            paying = charge_under_way(pool, server, customer, order, timeout=30)
            server.proc.send_signal(signal.SIGTERM)
            with pytest.raises(requests.ConnectionError):
                paying.result()
        # Heard before the gateway answered: the order is not paid yet when the client sees the close.
        assert server.sql("SELECT status FROM orders WHERE id = ?", (order["id"],)) == [("pending_payment",)]
        assert server.proc.wait(timeout=30) == 0
        assert server.sql("SELECT status FROM orders WHERE id = ?", (order["id"],)) == [("paid",)]
        assert "closing them unanswered" in server.log_text()
    finally:
        server.stop()
        assert gateway.stop() == 0
