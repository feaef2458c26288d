"""What must hold in the database whatever happened to the process, the network or the disk: read
straight from the tables with Server.sql (SQLite or PostgreSQL), so a bug in the API cannot hide one.
Used by test_crash.py, test_faults.py and test_catalog.py."""
import concurrent.futures
import random
import threading
import time

import requests

from conftest import DECLINED, GOOD, unique, wait_until


def make_products(server, staff, count, stock):
    """Creates `count` products; returns {id: initial stock}."""
    initial = {}
    for _ in range(count):
        r = server.post("/store/products/", token=staff, json={"name": unique("P"), "price": "1.25", "stock": stock})
        assert r.status_code == 201, r.text
        initial[r.json()["id"]] = stock
    return initial


def processing_payments(server):
    return server.sql("SELECT COUNT(*) FROM payments WHERE status = 'processing'")[0][0]


def wait_reconciled(server, timeout=30.0):
    """Until the reconciler has settled every payment left processing and released every hold."""
    wait_until(lambda: processing_payments(server) == 0, timeout=timeout, what="no payment processing")
    wait_until(lambda: server.sql("SELECT COUNT(*) FROM orders WHERE payment_in_flight <> 0")[0][0] == 0,
               timeout=timeout, what="no order held for a payment")


def check_invariants(server, initial_stock):
    """The invariants of issue #12, asserted; returns a few figures about the database."""
    ids = sorted(initial_stock)
    marks = ",".join("?" * len(ids))
    stock = dict(server.sql(f"SELECT id, stock FROM products WHERE id IN ({marks})", ids))
    held = dict(server.sql(
        "SELECT i.product_id, SUM(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id"
        f" WHERE o.status IN ('pending_payment', 'paid') AND i.product_id IN ({marks}) GROUP BY i.product_id", ids))
    for pid in ids:
        # initial stock = current stock + quantities held by pending_payment and paid orders
        assert initial_stock[pid] == stock[pid] + int(held.get(pid, 0)), (pid, initial_stock[pid], stock[pid], held)

    # Every paid order: exactly one succeeded payment and one confirmation in the outbox; no other
    # order has either.
    rows = server.sql(
        "SELECT o.id, o.status,"
        " (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id AND p.status = 'succeeded'),"
        " (SELECT COUNT(*) FROM outbox b WHERE b.kind = 'order_confirmation' AND b.order_id = o.id)"
        " FROM orders o")
    for order_id, status, succeeded, confirmations in rows:
        if status == "paid":
            assert (succeeded, confirmations) == (1, 1), (order_id, succeeded, confirmations)
        else:
            assert (succeeded, confirmations) == (0, 0), (order_id, status, succeeded, confirmations)

    assert processing_payments(server) == 0
    # Nothing half-written: every order has items, every item an order.
    assert server.sql("SELECT COUNT(*) FROM orders o WHERE NOT EXISTS"
                      " (SELECT 1 FROM order_items i WHERE i.order_id = o.id)")[0][0] == 0
    figures = dict(server.sql("SELECT status, COUNT(*) FROM orders GROUP BY status"))
    figures["payments"] = dict(server.sql("SELECT status, COUNT(*) FROM payments GROUP BY status"))
    return figures


def check_seen(server, seen):
    """Every success a client saw is in the database (a response is only sent after its commit)."""
    status = dict(server.sql("SELECT id, status FROM orders"))
    for order_id in seen["placed"]:
        assert order_id in status, order_id
    for order_id in seen["paid"]:
        assert status[order_id] == "paid", (order_id, status[order_id])
    for order_id in seen["cancelled"]:
        assert status[order_id] == "cancelled", (order_id, status[order_id])


class Load:
    """Customers placing, paying (now and then with a declined card) and cancelling orders from a
    thread pool until stop(). Talks to `server.base` afresh for every request, so it follows the
    server across restarts. Records every success and every status; a refused connection (the server
    is down) is counted and retried after a short pause."""

    # What a client may see while faults happen: never a 500.
    ALLOWED = {200, 201, 402, 409, 503}

    def __init__(self, server, tokens, products, request_timeout=15.0, quantities=(1, 3), may_sell_out=False):
        """`quantities`: the least and most units of a product in an order. With `may_sell_out`, the
        products may run out: 400 insufficient_stock is then an expected answer."""
        self.server = server
        self.tokens = tokens
        self.products = list(products)
        self.timeout = request_timeout
        self.quantities = quantities
        self.may_sell_out = may_sell_out
        self.seen = {"placed": [], "paid": [], "cancelled": []}
        self.statuses = {}
        self.unexpected = []
        self.connection_errors = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = None
        self._futures = []

    def start(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(len(self.tokens))
        self._futures = [self._pool.submit(self._run, token, i) for i, token in enumerate(self.tokens)]
        return self

    def stop(self):
        self._stop.set()
        for f in self._futures:
            f.result(timeout=60)
        self._pool.shutdown()

    def successes(self):
        with self._lock:
            return sum(len(v) for v in self.seen.values())

    def _call(self, http, method, path, token, **kw):
        with self._lock:
            self.requests += 1
        try:
            r = http.request(method, self.server.base + path, headers={"Authorization": f"Bearer {token}"},
                             timeout=self.timeout, **kw)
        except requests.RequestException:
            with self._lock:
                self.connection_errors += 1
            time.sleep(0.05)
            return None
        with self._lock:
            self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
            if self._unexpected(r):
                self.unexpected.append((method, path, r.status_code, r.text[:300]))
        return r

    def _unexpected(self, r):
        if r.status_code == 400:
            return not (self.may_sell_out and r.json().get("code") == "insufficient_stock")
        if r.status_code not in self.ALLOWED:
            return True
        return r.status_code == 503 and r.json().get("code") not in ("unavailable", "payment_gateway_unavailable")

    def _record(self, kind, order_id):
        with self._lock:
            self.seen[kind].append(order_id)

    def _run(self, token, index):
        rng = random.Random(index)
        http = requests.Session()
        while not self._stop.is_set():
            picked = rng.sample(self.products, k=rng.randint(1, min(2, len(self.products))))
            items = [{"product_id": pid, "quantity": rng.randint(*self.quantities)} for pid in picked]
            r = self._call(http, "POST", "/store/place_order/", token, json={"items": items})
            if r is None or r.status_code != 201:
                continue
            order = r.json()
            self._record("placed", order["id"])
            roll = rng.random()
            if roll < 0.1:
                r = self._call(http, "POST", f"/store/orders/{order['id']}/cancel/", token)
                if r is not None and r.status_code == 200:
                    self._record("cancelled", order["id"])
                continue
            number = DECLINED if roll < 0.2 else GOOD
            body = {"order_id": order["id"], "amount": order["total_amount"], "card_number": number,
                    "expiry_date": "12/34", "cvv": "123"}
            r = self._call(http, "POST", "/store/make_payment/", token, json=body)
            if r is not None and r.status_code == 200:
                self._record("paid", order["id"])
        http.close()
