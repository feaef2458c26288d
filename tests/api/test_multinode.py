"""Several orderd nodes on one PostgreSQL database (docs/scaling.md): nothing is oversold, charged
twice or mailed twice, tokens work on every node, and losing a node loses no service.
Runs only with ORDERD_TEST_DB=postgres (make api-test-pg)."""
import concurrent.futures
import re
import signal
import threading
import time

import pytest

from conftest import (Server, assert_error, fresh_database_url, login, pay, place, postgres_only, register, staff_token,
                      unique, wait_until)

pytestmark = postgres_only


@pytest.fixture
def start_nodes(tmp_path):
    """start_nodes(n, env={...}): n orderd processes on one fresh database, launched at the same
    moment (so that they also migrate together); stopped after the test."""
    started = []

    def start(n=2, env=None):
        url = fresh_database_url(tmp_path)
        nodes = [Server(tmp_path / f"node{i}", env={"ORDERD_DATABASE_URL": url, **(env or {})}) for i in range(n)]
        for node in nodes:
            node.launch()
            started.append(node)
        for node in nodes:
            node.wait_ready()
        return nodes

    yield start
    for node in started:
        node.stop()


def new_product(node, staff, stock, price="10.00"):
    r = node.post("/store/products/", token=staff, json={"name": unique("P"), "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def stock_of(node, staff, pid):
    return node.get(f"/store/products/{pid}/", token=staff).json()["stock"]


def customers(nodes, n):
    """n fresh customers, registered and signed in across the nodes; returns their access tokens."""
    def one(i):
        node = nodes[i % len(nodes)]
        _, creds = register(node)
        return login(node, creds["email"], creds["password"])["access"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(n)))


def at_once(n, call):
    """Runs call(i) for i in range(n) on n threads released together; returns the results in order."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        return call(i)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))




def metric(node, name):
    match = re.search(rf"^{name} (\d+)", node.get("/metrics").text, re.M)
    return int(match.group(1)) if match else 0


def test_nodes_starting_together_migrate_once(start_nodes):
    a, b = start_nodes(2)
    versions = [v for (v,) in a.sql("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 5
    applied = re.findall(r"applied migration (\S+)", a.log_text() + b.log_text())
    assert sorted(applied) == sorted(set(applied)) and len(applied) == len(versions), applied
    assert a.get("/readyz").status_code == b.get("/readyz").status_code == 200


def test_300_buyers_across_two_nodes_for_50_units(start_nodes):
    nodes = start_nodes(2)
    staff = staff_token(nodes[0])
    p = new_product(nodes[0], staff, stock=50)
    tokens = customers(nodes, 300)
    responses = at_once(300, lambda i: place(nodes[i % 2], tokens[i], product_id=p["id"]))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 50, [r.text for r in responses if r.status_code not in (201, 400)]
    assert codes.count(400) == 250, codes
    assert all(r.json()["code"] == "insufficient_stock" for r in responses if r.status_code == 400)
    assert stock_of(nodes[0], staff, p["id"]) == stock_of(nodes[1], staff, p["id"]) == 0
    assert nodes[0].sql("SELECT count(*), sum(quantity) FROM order_items WHERE product_id = ?", (p["id"],)) == [(50, 50)]
    assert nodes[1].sql("SELECT count(*) FROM orders WHERE status = 'pending_payment'") == [(50,)]


def test_multi_item_orders_and_cancels_across_nodes_never_fail_or_oversell(start_nodes):
    # Orders name the same products in different orders and cancels return stock meanwhile: the
    # stock rows are locked in id order, so no deadlock, and nothing answers 5xx.
    nodes = start_nodes(2)
    staff = staff_token(nodes[0])
    products = [new_product(nodes[0], staff, stock=40) for _ in range(4)]
    tokens = customers(nodes, 20)

    def buy_then_maybe_cancel(i):
        node = nodes[i % 2]
        items = [{"product_id": p["id"], "quantity": 1 + (i + k) % 2} for k, p in enumerate(products)]
        items = items[i % 4:] + items[:i % 4]
        r = node.post("/store/place_order/", token=tokens[i % 20], json={"items": items})
        if r.status_code == 201 and i % 3 == 0:
            c = nodes[(i + 1) % 2].post(f"/store/orders/{r.json()['id']}/cancel/", token=tokens[i % 20])
            return [r, c]
        return [r]

    results = [r for rs in at_once(80, buy_then_maybe_cancel) for r in rs]
    assert all(r.status_code < 500 for r in results), [r.text for r in results if r.status_code >= 500]
    for p in products:
        [(held,)] = nodes[0].sql(
            "SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id"
            " WHERE i.product_id = ? AND o.status = 'pending_payment'", (p["id"],))
        assert held + stock_of(nodes[1], staff, p["id"]) == 40


def test_20_concurrent_payments_of_one_order_across_nodes_charge_once(start_nodes):
    nodes = start_nodes(2)
    staff = staff_token(nodes[0])
    [token] = customers(nodes, 1)
    order = place(nodes[0], token, product_id=new_product(nodes[0], staff, stock=5)["id"], quantity=2).json()
    responses = at_once(20, lambda i: pay(nodes[i % 2], token, order))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, [r.text for r in responses]
    assert codes.count(409) == 19, codes
    assert nodes[1].sql("SELECT status FROM payments WHERE order_id = ?", (order["id"],)) == [("succeeded",)]
    assert sum(metric(n, r'orderd_payments_total\{outcome="approved"\}') for n in nodes) == 1


def test_10_paid_orders_across_nodes_send_exactly_10_emails(start_nodes, smtp_sink):
    nodes = start_nodes(2, env={"ORDERD_SMTP_URL": smtp_sink.url})
    staff = staff_token(nodes[0])
    tokens = customers(nodes, 10)
    p = new_product(nodes[0], staff, stock=100)
    orders = [place(nodes[i % 2], tokens[i], product_id=p["id"]).json() for i in range(10)]
    responses = at_once(10, lambda i: pay(nodes[(i + 1) % 2], tokens[i], orders[i]))
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    smtp_sink.wait_for(10, timeout=30)
    time.sleep(2)  # both workers poll: a duplicate would arrive now
    mails = smtp_sink.received()
    subjects = sorted(m.header("Subject") for m in mails)
    assert len(mails) == 10, subjects
    assert len({m.header("Message-ID") for m in mails}) == 10
    assert all(any(f"#{o['id']} " in s for s in subjects) for o in orders), subjects
    assert nodes[0].sql("SELECT status, count(*) FROM outbox GROUP BY status") == [("sent", 10)]
    assert nodes[0].sql("SELECT max(attempts) FROM outbox") == [(1,)]


def test_expiring_reservations_return_stock_exactly_once(start_nodes):
    nodes = start_nodes(2, env={"ORDERD_RESERVATION_TTL": "2s", "ORDERD_SWEEP_INTERVAL": "50ms"})
    staff = staff_token(nodes[0])
    tokens = customers(nodes, 4)
    p = new_product(nodes[0], staff, stock=100)
    orders = [place(nodes[i % 2], tokens[i % 4], product_id=p["id"], quantity=1 + i % 3).json() for i in range(30)]
    assert stock_of(nodes[0], staff, p["id"]) < 100  # held (the first ones may be expiring already)
    wait_until(lambda: nodes[0].sql("SELECT count(*) FROM orders WHERE status = 'expired'") == [(30,)])
    time.sleep(0.5)  # a second return of the same stock would show now
    assert stock_of(nodes[1], staff, p["id"]) == 100
    assert sum(metric(n, "orderd_orders_expired_total") for n in nodes) == 30
    assert {o["status"] for o in (nodes[1].get(f"/store/orders/{o['id']}/", token=tokens[i % 4]).json()
                                  for i, o in enumerate(orders))} == {"expired"}


def test_a_token_from_one_node_works_on_the_other(start_nodes):
    a, b = start_nodes(2)
    body, creds = register(a)
    tokens = login(a, creds["email"], creds["password"])
    me = b.get("/user/", token=tokens["access"])
    assert me.status_code == 200 and me.json()["id"] == body["id"]
    rotated = b.post("/token/refresh/", json={"refresh": tokens["refresh"]})
    assert rotated.status_code == 200, rotated.text
    assert a.get("/user/", token=rotated.json()["access"]).status_code == 200
    # The old refresh token was used on node b: presenting it again to node a is reuse, the family is revoked.
    assert_error(a.post("/token/refresh/", json={"refresh": tokens["refresh"]}), 401, "token_invalid")
    assert_error(b.post("/token/refresh/", json={"refresh": rotated.json()["refresh"]}), 401, "token_invalid")


def test_killing_one_node_leaves_the_other_serving(start_nodes):
    a, b = start_nodes(2)
    staff = staff_token(a)
    [token] = customers([a, b], 1)
    p = new_product(a, staff, stock=10)
    first = place(a, token, product_id=p["id"]).json()
    assert a.stop(sig=signal.SIGKILL) == -signal.SIGKILL
    assert b.get("/readyz").status_code == 200
    assert b.get(f"/store/orders/{first['id']}/", token=token).status_code == 200
    second = place(b, token, product_id=p["id"], quantity=2)
    assert second.status_code == 201, second.text
    assert pay(b, token, second.json()).status_code == 200
    assert pay(b, token, first).status_code == 200
    assert stock_of(b, staff, p["id"]) == 7
