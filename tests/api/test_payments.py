"""Payments: the old success body, every card outcome, at most one charge per order, idempotency,
the HTTP gateway (up, down, back), reconciliation after a lost answer, and no card data anywhere."""
import base64
import concurrent.futures
import hashlib
import json
import re
import socket
import time

import pytest

from conftest import GOOD, MockGateway, assert_error, customer_token, pay, place, staff_token, unique, wait_until


@pytest.fixture(scope="module")
def staff(server):
    return staff_token(server)


@pytest.fixture
def customer(server):
    return customer_token(server)


def new_order(server, staff, token, price="50.00", quantity=2, stock=100):
    p = server.post("/store/products/", token=staff,
                    json={"name": unique("P"), "price": price, "stock": stock}).json()
    return place(server, token, product_id=p["id"], quantity=quantity, expect=201).json()


def status_of(server, token, order):
    return server.get(f"/store/orders/{order['id']}/", token=token).json()["status"]




# --- success -------------------------------------------------------------------------------------

def test_success_body_keeps_the_old_numbers(server, staff, customer):
    order = new_order(server, staff, customer, price="50.00", quantity=2)
    r = pay(server, customer, order)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "Payment successful"
    data = body["order_data"]
    assert data["order_id"] == order["id"] and data["created_at"] == order["created_at"]
    assert data["total_amount"] == 100.0
    assert data["items"] == [{"product": order["items"][0]["product"], "price": 50.0, "quantity": 2,
                              "totalprice": 100.0}]
    # Numbers, written with exactly two decimals as the old service did.
    assert '"total_amount":100.00' in r.text and '"price":50.00' in r.text and '"totalprice":100.00' in r.text
    again = server.get(f"/store/orders/{order['id']}/", token=customer).json()
    assert again["status"] == "paid" and again["paid"] is True


def test_small_amounts_keep_two_decimals(server, staff, customer):
    order = new_order(server, staff, customer, price="0.10", quantity=3)
    r = pay(server, customer, order, amount=0.3)
    assert r.status_code == 200, r.text
    assert '"total_amount":0.30' in r.text and '"price":0.10' in r.text


@pytest.mark.parametrize("amount", ["130.00", 130, 130.0, "130"])
def test_amount_forms(server, staff, customer, amount):
    order = new_order(server, staff, customer, price="65.00", quantity=2)
    assert pay(server, customer, order, amount=amount).status_code == 200


def test_amount_must_match_exactly(server, staff, customer):
    order = new_order(server, staff, customer, price="65.00", quantity=2)
    assert_error(pay(server, customer, order, amount="129.99"), 400, "amount_mismatch")
    assert_error(pay(server, customer, order, amount="130.01"), 400, "amount_mismatch")
    assert status_of(server, customer, order) == "pending_payment"


# --- card outcomes -------------------------------------------------------------------------------

@pytest.mark.parametrize("number,code", [
    ("4000000000000002", "card_declined"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000000069", "expired_card"),
    ("4000000000000127", "incorrect_cvc"),
    ("4242424242424241", "incorrect_number"),
])
def test_declines_leave_the_order_payable(server, staff, customer, number, code):
    order = new_order(server, staff, customer)
    assert_error(pay(server, customer, order, number=number), 402, code)
    assert status_of(server, customer, order) == "pending_payment"
    assert pay(server, customer, order).status_code == 200  # pay after a decline
    assert status_of(server, customer, order) == "paid"


def test_a_past_expiry_is_expired_card(server, staff, customer):
    order = new_order(server, staff, customer)
    assert_error(pay(server, customer, order, expiry="01/20"), 402, "expired_card")


def test_processing_error_is_503_and_nothing_is_charged(server, staff, customer):
    order = new_order(server, staff, customer)
    assert_error(pay(server, customer, order, number="4000000000000119"), 503, "payment_gateway_unavailable")
    assert status_of(server, customer, order) == "pending_payment"
    assert pay(server, customer, order).status_code == 200


@pytest.mark.parametrize("field,value", [
    ("card_number", "4242"), ("card_number", "4242 4242 4242 4242 4242"), ("card_number", "4242x42424242424"),
    ("card_number", ""), ("card_number", None), ("expiry_date", "13/30"), ("expiry_date", "00/30"),
    ("expiry_date", "1230"), ("expiry_date", "12/3"), ("expiry_date", None), ("cvv", "12"), ("cvv", "12345"),
    ("cvv", "abc"), ("cvv", None), ("order_id", "one"), ("order_id", "1.5"), ("order_id", 1.5), ("order_id", None), ("amount", "1.234"),
    ("amount", -1), ("amount", "abc"), ("amount", None),
])
def test_bad_input(server, staff, customer, field, value):
    order = new_order(server, staff, customer)
    body = {"order_id": order["id"], "amount": order["total_amount"], "card_number": GOOD, "expiry_date": "12/34",
            "cvv": "123", field: value}
    err = assert_error(server.post("/store/make_payment/", token=customer, json=body), 400, "validation_error")
    assert field in err["details"], err
    assert GOOD not in str(err)
    assert status_of(server, customer, order) == "pending_payment"


def test_spaced_and_dashed_numbers_and_numeric_cvv_are_accepted(server, staff, customer):
    order = new_order(server, staff, customer)
    assert pay(server, customer, order, number="4242-4242 4242-4242", cvv=123).status_code == 200


# --- whose order, which state --------------------------------------------------------------------

def test_others_and_unknown_orders_are_not_found(server, staff, customer):
    order = new_order(server, staff, customer)
    other = customer_token(server)
    assert_error(pay(server, other, order), 404, "not_found")
    assert_error(pay(server, customer, {"id": 99999999, "total_amount": "1.00"}), 404, "not_found")
    assert status_of(server, customer, order) == "pending_payment"
    assert_error(server.post("/store/make_payment/", json={}), 401, "not_authenticated")


def test_cancelled_and_paid_orders_cannot_be_paid(server, staff, customer):
    order = new_order(server, staff, customer)
    server.post(f"/store/orders/{order['id']}/cancel/", token=customer)
    assert_error(pay(server, customer, order), 409, "order_not_payable")
    paid = new_order(server, staff, customer)
    assert pay(server, customer, paid).status_code == 200
    assert_error(pay(server, customer, paid), 409, "order_already_paid")
    assert_error(server.post(f"/store/orders/{paid['id']}/cancel/", token=customer), 409, "order_not_payable")


def test_expired_orders_cannot_be_paid(make_server):
    s = make_server(env={"ORDERD_RESERVATION_TTL": "500ms", "ORDERD_SWEEP_INTERVAL": "100ms"})
    staff, customer = staff_token(s), customer_token(s)
    order = new_order(s, staff, customer)
    wait_until(lambda: status_of(s, customer, order) == "expired")
    assert_error(pay(s, customer, order), 409, "order_not_payable")


def test_twenty_concurrent_payments_charge_once(server, staff, customer):
    order = new_order(server, staff, customer)
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: pay(server, customer, order), range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, [r.text for r in responses]
    assert codes.count(409) == 19, codes
    rows = server.sql("SELECT status FROM payments WHERE order_id = ?", (order["id"],))
    assert [r[0] for r in rows] == ["succeeded"]


def test_idempotent_replay(server, staff, customer):
    order = new_order(server, staff, customer)
    key = {"Idempotency-Key": unique("pay")}
    first = pay(server, customer, order, headers=key)
    second = pay(server, customer, order, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert_error(pay(server, customer, order, amount="1.00", headers=key), 409, "idempotency_conflict")
    assert server.sql("SELECT count(*) FROM payments WHERE order_id = ?", (order["id"],)) == [(1,)]


def test_an_idempotent_retry_is_told_apart_by_order_amount_and_card_brand_and_last4_only(server, staff, customer):
    order = new_order(server, staff, customer)
    key = {"Idempotency-Key": unique("pay")}
    first = pay(server, customer, order, expiry="12/34", cvv="123", headers=key)
    assert first.status_code == 200, first.text
    # Another CVC or expiry is not another request: what the key remembers may not depend on them.
    again = pay(server, customer, order, number="4242 4242 4242 4242", expiry="11/33", cvv="4567",
                amount=float(order["total_amount"]), headers=key)
    assert again.status_code == 200, again.text
    assert again.text == first.text and again.headers.get("Idempotent-Replayed") == "true"
    # Another card (another brand and last four) is.
    assert_error(pay(server, customer, order, number="5555555555554444", headers=key), 409, "idempotency_conflict")
    assert server.sql("SELECT count(*) FROM payments WHERE order_id = ?", (order["id"],)) == [(1,)]


def test_metrics_count_payments_by_outcome(server, staff, customer):
    pay(server, customer, new_order(server, staff, customer))
    pay(server, customer, new_order(server, staff, customer), number="4000000000000002")
    text = server.get("/metrics").text
    assert re.search(r'orderd_payments_total\{outcome="approved"\} [1-9]', text)
    assert re.search(r'orderd_payments_total\{outcome="declined"\} [1-9]', text)
    assert "orderd_gateway_request_duration_seconds_bucket" in text


# --- the HTTP gateway ----------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_through_the_http_mock_gateway(make_server, mock_gateway):
    s = make_server(env={"ORDERD_PAYMENT_GATEWAY": mock_gateway.url, "ORDERD_GATEWAY_TIMEOUT": "3s"})
    staff, customer = staff_token(s), customer_token(s)
    declined = new_order(s, staff, customer)
    assert_error(pay(s, customer, declined, number="4000000000000002"), 402, "card_declined")
    order = new_order(s, staff, customer)
    assert pay(s, customer, order).status_code == 200
    [(key, ref, brand, last4)] = s.sql(
        "SELECT idempotency_key, gateway_reference, card_brand, card_last4 FROM payments"
        " WHERE order_id = ? AND status = 'succeeded'", (order["id"],))
    assert (brand, last4) == ("visa", "4242")
    found = mock_gateway.find(key).json()
    assert found["status"] == "succeeded" and found["id"] == ref


def test_gateway_down_then_back(tmp_path, make_server):
    port = free_port()
    s = make_server(env={"ORDERD_PAYMENT_GATEWAY": f"http://127.0.0.1:{port}", "ORDERD_GATEWAY_TIMEOUT": "2s"})
    staff, customer = staff_token(s), customer_token(s)
    order = new_order(s, staff, customer)
    started = time.monotonic()
    assert_error(pay(s, customer, order), 503, "payment_gateway_unavailable")
    assert time.monotonic() - started < 5
    assert status_of(s, customer, order) == "pending_payment"
    gateway = MockGateway(tmp_path / "gw").start(port=port)
    try:
        assert pay(s, customer, order).status_code == 200
        assert status_of(s, customer, order) == "paid"
    finally:
        gateway.stop()


def test_a_lost_answer_is_reconciled_after_a_restart(tmp_path, make_server):
    # The gateway charges, then answers only after orderd's timeout: the outcome is unknown.
    gateway = MockGateway(tmp_path / "gw", args=["--latency", "2s"]).start()
    try:
        env = {"ORDERD_PAYMENT_GATEWAY": gateway.url, "ORDERD_GATEWAY_TIMEOUT": "500ms"}
        s = make_server(env=env, name="node")
        staff, customer = staff_token(s), customer_token(s)
        order = new_order(s, staff, customer)
        assert_error(pay(s, customer, order), 503, "payment_gateway_unavailable")
        assert status_of(s, customer, order) == "pending_payment"
        # A second attempt cannot charge again while the first one's outcome is unknown.
        assert_error(pay(s, customer, order), 409, "order_not_payable")
        assert_error(s.post(f"/store/orders/{order['id']}/cancel/", token=customer), 409, "order_not_payable")
        assert s.stop() == 0
        s.start()
        wait_until(lambda: status_of(s, customer, order) == "paid")
        rows = s.sql("SELECT status FROM payments WHERE order_id = ?", (order["id"],))
        assert [r[0] for r in rows] == ["succeeded"]
        # Settled once, by whichever process asked the gateway first: the stopping node when the
        # charge's answer was in by then (a stop records what the gateway charged), else the new one.
        settled = lambda: re.findall(r"reconciled payment \d+ of order (\d+): approved", s.log_text())
        assert wait_until(settled) == [str(order["id"])], s.log_text()
    finally:
        gateway.stop()


# --- card data stays out -------------------------------------------------------------------------

def derived_forms(secret):
    """What a careless program writes instead of a secret: its hex and base64, and those of its SHA-256;
    and the secret itself (quoted when it is a CVC, whose bare digits occur in any timestamp)."""
    raw = secret.encode()
    forms = {raw if len(raw) > 4 else b'"' + raw + b'"'}
    for value in (raw, hashlib.sha256(raw).digest()):
        forms |= {value.hex().encode(), value.hex().upper().encode(), base64.b64encode(value),
                  base64.urlsafe_b64encode(value).rstrip(b"=")}
    return forms


@pytest.mark.parametrize("gateway", ["mock", "http"])
def test_no_card_data_nor_any_hash_of_it_in_the_database_logs_or_mail(request, make_server, gateway):
    env = {"ORDERD_LOG_LEVEL": "trace"}
    if gateway == "http":
        env["ORDERD_PAYMENT_GATEWAY"] = request.getfixturevalue("mock_gateway").url
    s = make_server(env=env)
    staff, customer = staff_token(s), customer_token(s)
    cvv = "8351"
    secrets = {cvv}
    cards = [(GOOD, "07/41"), ("4000000000000002", "07/41"), ("4000000000009995", "07/41"),
             ("4000000000000119", "07/41"), ("4242424242424241", "07/41"),  # declined, error, Luhn
             ("4242 4242 4242 4242", "13/99")]  # refused as malformed
    for number, expiry in cards:
        order = new_order(s, staff, customer)
        body = {"order_id": order["id"], "amount": order["total_amount"], "card_number": number,
                "expiry_date": expiry, "cvv": cvv}
        key = {"Idempotency-Key": unique("pay")}
        for _ in range(2):  # the second one replays (or, after a 503, tries again)
            s.post("/store/make_payment/", token=customer, json=body, headers=key)
        # The body as the server parsed it: what an idempotency store hashes by default.
        secrets |= {number, expiry, "POST /store/make_payment/\n" + json.dumps(body, separators=(",", ":"))}
    assert s.sql("SELECT count(*) FROM orders WHERE status = 'paid'") == [(1,)]
    assert s.sql("SELECT count(*) FROM idempotency_keys WHERE route = '/store/make_payment/'")[0][0] >= 4
    wait_until(lambda: s.sql("SELECT count(*) FROM outbox WHERE status = 'sent'") == [(1,)])  # the mail written
    assert s.stop() == 0
    blobs = {"database": b"".join(s.database_bytes()), "log": s.log_path.read_bytes(),
             "mail": b"".join(p.read_bytes() for p in (s.workdir / "mail").iterdir())}
    if gateway == "http":
        blobs["mock gateway's log"] = request.getfixturevalue("mock_gateway").log_path.read_bytes()
    assert blobs["mail"]  # the paid order's confirmation
    leaks = [(where, secret, form) for where, blob in blobs.items() for secret in secrets
             for form in derived_forms(secret) if form in blob]
    assert not leaks, f"{len(leaks)} leaks: " + "; ".join(f"{w}: {f!r}" for w, _, f in leaks)


def test_an_upgrade_forgets_payment_key_hashes_taken_over_card_data(make_server):
    # Before migration 8, a make_payment key kept a SHA-256 over the card number, expiry and CVC.
    s = make_server()
    customer = customer_token(s)
    user = s.get("/user/", token=customer).json()["id"]
    for key, route in (("old-payment", "/store/make_payment/"), ("old-order", "/store/place_order/")):
        s.sql("INSERT INTO idempotency_keys (user_id, key, route, request_hash, status, response, created_at)"
              " VALUES (?, ?, ?, ?, 200, '{}', ?)", (user, key, route, "ab" * 32, int(time.time() * 1e6)))
    s.sql("DELETE FROM schema_migrations WHERE version = 8")  # as a database from before the upgrade
    assert s.stop() == 0
    p = s.cli("migrate")
    assert p.returncode == 0, p.stderr
    assert s.sql("SELECT key FROM idempotency_keys") == [("old-order",)]
    assert s.sql("SELECT count(*) FROM schema_migrations WHERE version = 8") == [(1,)]


def test_json_logs_name_the_request_user_and_route_on_every_line(make_server):
    s = make_server(env={"ORDERD_LOG_FORMAT": "json"})
    staff, customer = staff_token(s), customer_token(s)
    me = s.get("/user/", token=customer).json()
    order = new_order(s, staff, customer)
    # The processing-error card makes the payment service log a warning inside the request.
    r = pay(s, customer, order, number="4000000000000119", headers={"X-Request-Id": "pay-rid-1"})
    assert r.status_code == 503
    assert s.stop() == 0
    lines = [json.loads(line) for line in s.log_text().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "pay-rid-1"]
    assert len(mine) >= 2, mine  # the service's warning and the access-log line
    assert any(line["level"] == "warning" and "did not charge" in line["msg"] for line in mine), mine
    for line in mine:
        assert line["route"] == "/store/make_payment/" and line["user_id"] == me["id"]
    assert not any("4000000000000119" in line["msg"] for line in lines)
