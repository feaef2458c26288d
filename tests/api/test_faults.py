"""Faults, each with the outcome it must have: the payment gateway failing (500, timing out, resetting
the connection after charging), the mail server refusing, hanging and dropping the connection in the
middle of a message, PostgreSQL restarted under load, the disk full under SQLite.

The gateway faults come from `orderd mock-gateway` flags (docs/payment-gateway.md), the mail faults from
tests/api/smtp_sink.py; outcomes are checked through the API and straight in the database."""
import concurrent.futures
import os
import re
import subprocess
import time

import pytest

from conftest import (BACKEND, BIN, MockGateway, Server, assert_error, customer_token, pay, place, postgres_only,
                      staff_token, unique, wait_until)
from invariants import Load, check_invariants, check_seen, make_products, wait_reconciled


def new_order(server, staff, token, price="50.00", quantity=2):
    p = server.post("/store/products/", token=staff, json={"name": unique("P"), "price": price, "stock": 100}).json()
    return place(server, token, product_id=p["id"], quantity=quantity, expect=201).json()


def order_row(server, order):
    [(status, held)] = server.sql("SELECT status, payment_in_flight FROM orders WHERE id = ?", (order["id"],))
    return status, held


def payments_of(server, order):
    return server.sql("SELECT idempotency_key, status, decline_code, gateway_reference FROM payments"
                      " WHERE order_id = ? ORDER BY id", (order["id"],))


def confirmations(server, order):
    return server.sql("SELECT COUNT(*) FROM outbox WHERE kind = 'order_confirmation' AND order_id = ?",
                      (order["id"],))[0][0]


# --- the payment gateway -------------------------------------------------------------------------

def test_mock_gateway_fault_flags_as_documented(tmp_path):
    import requests

    failing = MockGateway(tmp_path / "fail", args=["--fail-status", "503"]).start()
    try:
        r = failing.charge("k-fail")
        assert r.status_code == 503 and r.json()["decline_code"] == "processing_error"
        assert failing.find("k-fail").json()["code"] == "charge_not_found"
    finally:
        assert failing.stop() == 0
    resetting = MockGateway(tmp_path / "reset", args=["--reset-after-charge"]).start()
    try:
        with pytest.raises(requests.ConnectionError):
            resetting.charge("k-reset")
        assert resetting.find("k-reset").json()["status"] == "succeeded"  # charged all the same
    finally:
        assert resetting.stop() == 0
    proxied = MockGateway(tmp_path / "proxied", args=["--fail-after-charge", "502"]).start()
    try:
        r = proxied.charge("k-502")
        assert r.status_code == 502 and "charge" not in r.text  # a proxy's page: no verdict about the charge
        assert proxied.find("k-502").json()["status"] == "succeeded"  # charged all the same
    finally:
        assert proxied.stop() == 0
    hanging = MockGateway(tmp_path / "hang", args=["--hang"]).start()
    try:
        with pytest.raises(requests.ReadTimeout):
            hanging.charge("k-hang", timeout=0.5)
        assert hanging.find("k-hang").status_code == 404  # and never charged
    finally:
        assert hanging.stop() == 0  # a connection left hanging does not hold up a graceful stop
    bad = subprocess.run([BIN, "mock-gateway", "--fail-status", "200"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--fail-status" in bad.stderr
    bad = subprocess.run([BIN, "mock-gateway", "--fail-after-charge", "404"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 2 and "--fail-after-charge" in bad.stderr


def unanswered_payment(make_server, gateway, timeout):
    """A server paying through `gateway` (which misbehaves), and an order whose payment got 503."""
    s = make_server(env={"ORDERD_PAYMENT_GATEWAY": gateway.url, "ORDERD_GATEWAY_TIMEOUT": timeout})
    staff, customer = staff_token(s), customer_token(s)
    order = new_order(s, staff, customer)
    assert_error(pay(s, customer, order), 503, "payment_gateway_unavailable")
    return s, customer, order


def test_gateway_answering_500_charges_nothing_and_the_order_stays_payable(tmp_path, make_server):
    gateway = MockGateway(tmp_path / "gw", args=["--fail-status", "500"]).start()
    try:
        s, customer, order = unanswered_payment(make_server, gateway, "2s")
        assert order_row(s, order) == ("pending_payment", 0)  # payable again at once: no hold
        [(key, status, code, _)] = payments_of(s, order)
        assert (status, code) == ("failed", "processing_error")
        assert gateway.find(key).json()["code"] == "charge_not_found"  # nothing charged under that key
    finally:
        port = gateway.port
        assert gateway.stop() == 0
    healthy = MockGateway(tmp_path / "gw2").start(port=port)
    try:
        assert pay(s, customer, order).status_code == 200
        assert order_row(s, order) == ("paid", 0) and confirmations(s, order) == 1
    finally:
        assert healthy.stop() == 0


def test_gateway_timing_out_is_503_in_time_and_the_reconciler_settles_it_from_the_key(tmp_path, make_server):
    # --hang: the gateway reads the charge, charges nothing and never answers.
    gateway = MockGateway(tmp_path / "gw", args=["--hang"]).start()
    try:
        s = make_server(env={"ORDERD_PAYMENT_GATEWAY": gateway.url, "ORDERD_GATEWAY_TIMEOUT": "1s"})
        staff, customer = staff_token(s), customer_token(s)
        order = new_order(s, staff, customer)
        started = time.monotonic()
        assert_error(pay(s, customer, order), 503, "payment_gateway_unavailable")
        assert 1.0 <= time.monotonic() - started < 4.0  # the configured timeout, not the client's
        # Maybe charged: the order is held (a second payment or a cancel cannot slip in) ...
        assert order_row(s, order) == ("pending_payment", 1)
        assert_error(pay(s, customer, order), 409, "order_not_payable")
        # ... until the reconciler asks the gateway about the key (after 2 x gateway_timeout): never
        # charged, so the payment fails and the order is payable again.
        wait_until(lambda: order_row(s, order) == ("pending_payment", 0), timeout=20, what="the hold released")
        [(key, status, code, _)] = payments_of(s, order)
        assert (status, code) == ("failed", "not_charged")
        assert gateway.find(key).status_code == 404
    finally:
        port = gateway.port
        assert gateway.stop() == 0
    healthy = MockGateway(tmp_path / "gw2").start(port=port)
    try:
        assert pay(s, customer, order).status_code == 200
        assert [p[1] for p in payments_of(s, order)] == ["failed", "succeeded"]
    finally:
        assert healthy.stop() == 0


def settled_as_paid_once(s, gateway, customer, order):
    """After a charge whose answer was lost: the reconciler settles the order paid from the gateway's
    record of its one payment's key, with one email, and no second payment is possible."""
    wait_until(lambda: order_row(s, order) == ("paid", 0), timeout=20, what="the order settled as paid")
    [(key, status, _, reference)] = payments_of(s, order)  # one payment, one key
    found = gateway.find(key).json()
    assert status == "succeeded" and found["status"] == "succeeded" and found["id"] == reference
    assert confirmations(s, order) == 1
    assert 'outcome="reconciled_succeeded"' in s.get("/metrics").text
    assert_error(pay(s, customer, order), 409, "order_already_paid")


def test_gateway_resetting_the_connection_after_charging_is_settled_as_paid_and_charged_once(tmp_path, make_server):
    gateway = MockGateway(tmp_path / "gw", args=["--reset-after-charge"]).start()
    try:
        s, customer, order = unanswered_payment(make_server, gateway, "1s")
        assert order_row(s, order) == ("pending_payment", 1)
        assert_error(pay(s, customer, order), 409, "order_not_payable")  # no second charge
        settled_as_paid_once(s, gateway, customer, order)
        assert "connection reset" in gateway.log_text()
    finally:
        assert gateway.stop() == 0


def test_gateway_answering_502_after_charging_is_settled_as_paid_and_charged_once(tmp_path, make_server):
    # As a proxy before the gateway would: the card is charged, then the client sees 502 and an HTML page
    # that says nothing about the charge. That is "maybe charged", never "not charged".
    gateway = MockGateway(tmp_path / "gw", args=["--fail-after-charge", "502"]).start()
    try:
        s, customer, order = unanswered_payment(make_server, gateway, "2s")
        [(key, status, code, _)] = payments_of(s, order)
        assert gateway.find(key).json()["status"] == "succeeded"  # the card was charged
        assert (status, code) == ("processing", None)  # not failed: the reconciler will ask
        assert order_row(s, order) == ("pending_payment", 1)  # held: no second payment can slip in
        assert_error(pay(s, customer, order), 409, "order_not_payable")
        settled_as_paid_once(s, gateway, customer, order)
    finally:
        assert gateway.stop() == 0


# --- the mail server -----------------------------------------------------------------------------

def outbox_row(server, order):
    [row] = server.sql("SELECT status, attempts, last_error FROM outbox WHERE kind = 'order_confirmation'"
                       " AND order_id = ?", (order["id"],))
    return row


def mails_for(sink, order):
    return [m for m in sink.received() if m.header("Subject").endswith(f"order #{order['id']} is confirmed")]


def paid_while_mail_fails(make_server, smtp_sink, fault_started, extra_env=None):
    """Pays an order while the mail server misbehaves: the payment must not notice. Returns the
    server and the order once the fault has cost at least one failed delivery."""
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_MAIL_RETRY_CAP": "1s", **(extra_env or {})})
    staff, customer = staff_token(s), customer_token(s)
    order = new_order(s, staff, customer)
    started = time.monotonic()
    r = pay(s, customer, order)
    assert r.status_code == 200, r.text
    assert time.monotonic() - started < 3.0  # the mail server is not on the payment's path
    assert order_row(s, order) == ("paid", 0)
    wait_until(fault_started, timeout=20, what="the fault to bite")
    wait_until(lambda: (row := outbox_row(s, order))[0] == "pending" and row[1] >= 1 and row[2], timeout=20,
               what="a failed attempt recorded")
    assert mails_for(smtp_sink, order) == []
    return s, order


def delivered_once(s, smtp_sink, order):
    wait_until(lambda: outbox_row(s, order)[0] == "sent", timeout=30, what="the email sent")
    assert len(mails_for(smtp_sink, order)) == 1
    # Nothing more goes out for it afterwards (give the worker a few polls to misbehave).
    time.sleep(1.5)
    assert len(mails_for(smtp_sink, order)) == 1 and outbox_row(s, order)[0] == "sent"


def test_mail_server_refusing_delays_mail_never_the_payment(make_server, smtp_sink):
    smtp_sink.reject_with = "451 4.3.0 try again later"
    s, order = paid_while_mail_fails(make_server, smtp_sink, lambda: True)
    assert "451" in outbox_row(s, order)[2]
    smtp_sink.reject_with = None
    delivered_once(s, smtp_sink, order)


def test_mail_server_refusing_for_good_fails_the_email_at_once_and_staff_can_resend_it(make_server, smtp_sink):
    # A 554 ("rejected as spam") was retried like a 451, about 500 times over four hours (RFC 5321
    # says not to repeat it). The email now fails at its first attempt; the payment is untouched.
    smtp_sink.reject_with = "554 5.7.1 message refused"
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_MAIL_RETRY_CAP": "1s"})
    staff, customer = staff_token(s), customer_token(s)
    order = new_order(s, staff, customer)
    assert pay(s, customer, order).status_code == 200
    wait_until(lambda: outbox_row(s, order)[0] == "failed", timeout=20, what="the email failed")
    status, attempts, error = outbox_row(s, order)
    assert attempts == 1 and "554" in error
    assert order_row(s, order) == ("paid", 0)
    smtp_sink.reject_with = None
    failed = s.get("/admin/emails/?status=failed", token=staff).json()["results"]
    email_id = next(e["id"] for e in failed if e["order_id"] == order["id"])
    assert s.post(f"/admin/emails/{email_id}/resend/", token=staff).status_code in (200, 202)
    delivered_once(s, smtp_sink, order)


def test_mail_server_hanging_is_given_up_after_smtp_timeout_and_retried(make_server, smtp_sink):
    smtp_sink.hang = True
    s, order = paid_while_mail_fails(make_server, smtp_sink, lambda: smtp_sink.hung >= 1,
                                     {"ORDERD_SMTP_TIMEOUT": "1s"})
    assert "timeout" in outbox_row(s, order)[2].lower() or "timed out" in outbox_row(s, order)[2].lower()
    smtp_sink.hang = False
    delivered_once(s, smtp_sink, order)


def test_mail_server_dropping_the_connection_mid_message_is_retried(make_server, smtp_sink):
    smtp_sink.drop_mid_message = True
    s, order = paid_while_mail_fails(make_server, smtp_sink, lambda: smtp_sink.dropped >= 1)
    smtp_sink.drop_mid_message = False
    delivered_once(s, smtp_sink, order)


# --- PostgreSQL restarted under load -------------------------------------------------------------

@postgres_only
def test_postgresql_restarted_under_load(tmp_path):
    from pg import PgCluster

    cluster = PgCluster().start()
    try:
        url = cluster.url(cluster.create_database())
        s = Server(tmp_path / "node", env={"ORDERD_DATABASE_URL": url, "ORDERD_GATEWAY_TIMEOUT": "1s",
                                           "ORDERD_WORKERS": "8"}).start()
        staff = staff_token(s)
        initial = make_products(s, staff, 3, 1_000_000)
        load = Load(s, [customer_token(s) for _ in range(6)], initial).start()
        try:
            wait_until(lambda: load.successes() >= 20, timeout=30, what="load under way")
            cluster.stop_server()
            down_since = load.statuses.get(503, 0)
            wait_until(lambda: load.statuses.get(503, 0) >= down_since + 20, timeout=30, what="503s while down")
            assert_error(s.get("/readyz"), 503, "unavailable")
            cluster.start_server()
            wait_until(lambda: s.get("/readyz").status_code == 200, timeout=30, what="ready again")
            after = load.successes()
            wait_until(lambda: load.successes() >= after + 20, timeout=30, what="successes after the restart")
        finally:
            load.stop()
        assert s.proc.poll() is None  # recovered by itself, no restart
        assert not load.unexpected, load.unexpected[:5]  # 503 unavailable while down, never 500
        assert load.connection_errors == 0
        wait_reconciled(s)
        figures = check_invariants(s, initial)
        check_seen(s, load.seen)
        print("postgres restart figures:", {"requests": load.requests, "statuses": load.statuses,
                                            "orders": figures})
        assert s.stop() == 0
        access = [l for l in s.log_text().splitlines() if "rid=" in l]
        assert not [l for l in access if re.search(r" 5(?!03)\d\d [\d.]+ms", l)]
    finally:
        cluster.stop()


# --- the disk full under SQLite ------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB tmpfs: a real file system that fills up. Needs root (mount); skipped otherwise."""
    where = tmp_path / "disk"
    where.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({p.stderr.strip() or p.returncode}); needs root")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def fill(directory):
    """Writes a file until the file system is full; returns its path."""
    path = directory / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 1):  # down to the last byte
            try:
                while os.write(fd, b"\0" * size) == size:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return path


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite only: a full disk under PostgreSQL is PostgreSQL's")
def test_sqlite_disk_full_is_a_clear_503_and_nothing_is_corrupted(tmp_path, small_disk):
    s = Server(tmp_path / "node", env={"ORDERD_DATABASE_URL": f"sqlite://{small_disk / 'orderd.db'}"}).start()
    try:
        staff, customer = staff_token(s), customer_token(s)
        initial = make_products(s, staff, 2, 1_000_000)
        pids = list(initial)
        r = s.post("/store/place_order/", token=customer, json={"items": [{"product_id": pids[0], "quantity": 1}]})
        assert r.status_code == 201, r.text
        placed, refused = [r.json()["id"]], 0
        filler = fill(small_disk)
        # Writes go on until the database needs a page it cannot get (the WAL may still have room).
        for i in range(400):
            r = s.post("/store/place_order/", token=customer,
                       json={"items": [{"product_id": pids[i % 2], "quantity": 1}]})
            if r.status_code == 201:
                placed.append(r.json()["id"])
                continue
            assert_error(r, 503, "unavailable")
            refused += 1
            if refused >= 5:
                break
        assert refused >= 5, f"the disk never filled up ({len(placed)} orders placed)"
        assert_error(pay(s, customer, {"id": placed[0], "total_amount": "1.25"}), 503, "unavailable")
        # Concurrent writers share one group commit: every one of them gets the clear 503 too.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            burst = list(pool.map(lambda i: s.post("/store/place_order/", token=customer, json={
                "items": [{"product_id": pids[i % 2], "quantity": 1}]}), range(40)))
        for r in burst:
            if r.status_code == 201:
                placed.append(r.json()["id"])
            else:
                assert_error(r, 503, "unavailable")
        # Reads still work; the process is up.
        assert s.get("/store/products/", token=customer).status_code == 200
        assert s.get("/healthz").status_code == 200

        os.unlink(filler)  # space again: the service continues by itself
        wait_until(lambda: s.post("/store/place_order/", token=customer,
                                  json={"items": [{"product_id": pids[0], "quantity": 1}]}).status_code == 201,
                   timeout=20, what="writes working again")
        assert pay(s, customer, {"id": placed[0], "total_amount": "1.25"}).status_code == 200
        assert s.stop() == 0
        assert s.sql("PRAGMA integrity_check") == [("ok",)]
        check_invariants(s, initial)
        check_seen(s, {"placed": placed, "paid": [placed[0]], "cancelled": []})
        access = [l for l in s.log_text().splitlines() if "rid=" in l]
        assert not [l for l in access if re.search(r" 5(?!03)\d\d [\d.]+ms", l)]  # 503, never 500
    finally:
        s.stop()
