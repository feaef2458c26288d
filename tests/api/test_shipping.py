"""After payment (issue #18): the order bodies' new fields (payment_status, fulfilment_status,
fulfilments, refunds, returns), payment_status in the old flows, and staff shipping, delivering and
taking returns (docs/contract.md, "After payment"). Counts hold under concurrency on SQLite and, with
ORDERD_TEST_DB=postgres, across two nodes; the restock arithmetic holds after any mix."""
import concurrent.futures
import json
import random
import threading

import pytest

from conftest import (Server, assert_error, customer_token, fresh_database_url, pay, place, postgres_only,
                      staff_token, unique, wait_until)

OLD_FIELDS = {"id", "customer", "total_amount", "paid", "status", "created_at", "expires_at", "items"}
NEW_FIELDS = {"payment_status", "fulfilment_status", "fulfilments", "refunds", "returns"}


def product(server, staff, stock=10, price="25.00"):
    r = server.post("/store/products/", token=staff, json={"name": unique("P"), "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def stock_of(server, staff, pid):
    return server.get(f"/store/products/{pid}/", token=staff).json()["stock"]


REFUSES_REFUNDS = "4000000000005126"  # the mock gateway's: the charge succeeds, its refunds fail


def paid_order(server, customer, lines, number="4242424242424242"):
    """Places and pays an order of `lines` [(product, quantity)]; returns its body as paid."""
    order = place(server, customer, [{"product_id": p["id"], "quantity": q} for p, q in lines], expect=201).json()
    r = pay(server, customer, order, number=number)
    assert r.status_code == 200, r.text
    return server.get(f"/store/orders/{order['id']}/", token=customer).json()


def ship(server, staff, order, items=None, expect=201, **fields):
    body = {"carrier": "DHL", "tracking_number": "JD0123", "tracking_url": "https://track.example.com/JD0123",
            **fields}
    if items is not None:
        body["items"] = [{"product_id": p["id"], "quantity": q} for p, q in items]
    r = server.post(f"/admin/orders/{order['id']}/fulfilments/", token=staff, json=body)
    if expect is not None:
        assert r.status_code == expect, r.text
    return r


def take_back(server, staff, order, items, expect=201, **fields):
    body = {"items": [{"product_id": p["id"], "quantity": q, "restock": restock} for p, q, restock in items],
            "reason": "broken in transit", **fields}
    r = server.post(f"/admin/orders/{order['id']}/returns/", token=staff, json=body)
    if expect is not None:
        assert r.status_code == expect, r.text
    return r


def staff_view(server, staff, order):
    r = server.get(f"/admin/orders/{order['id']}/", token=staff)
    assert r.status_code == 200, r.text
    return r.json()


def at_once(n, call):
    """Runs call(i) for i in range(n) on n threads released together; returns the results in order."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        return call(i)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


# --- the order bodies ------------------------------------------------------------------------------------

def test_every_order_body_keeps_the_old_fields_and_adds_the_new_ones(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    placed = place(server, customer, product_id=p["id"], quantity=2, expect=201).json()
    assert OLD_FIELDS | NEW_FIELDS == set(placed)
    assert placed["payment_status"] == "awaiting" and placed["fulfilment_status"] == "not_fulfilled"
    assert placed["fulfilments"] == placed["refunds"] == placed["returns"] == []

    paid = paid_order(server, customer, [(p, 1)])
    listed = server.get("/store/orders/", token=customer).json()["results"]
    assert {o["id"]: o["payment_status"] for o in listed} == {placed["id"]: "awaiting", paid["id"]: "paid"}
    for body in [paid, *listed, staff_view(server, staff, paid),
                 *server.get("/admin/orders/", token=staff, params={"search": placed["customer"]}).json()["results"]]:
        assert OLD_FIELDS | NEW_FIELDS <= set(body), body
        assert body["paid"] == (body["status"] == "paid") and body["fulfilment_status"] == "not_fulfilled"
    assert paid["status"] == "paid" and paid["paid"] is True and paid["payment_status"] == "paid"


def test_cancels_and_expiry_of_unpaid_orders_leave_no_payment(make_server):
    s = make_server(env={"ORDERD_RESERVATION_TTL": "1s", "ORDERD_SWEEP_INTERVAL": "100ms"})
    staff, customer = staff_token(s), customer_token(s)
    p = product(s, staff)
    by_customer, by_staff, left = (place(s, customer, product_id=p["id"], expect=201).json() for _ in range(3))
    r = s.post(f"/store/orders/{by_customer['id']}/cancel/", token=customer)
    assert r.status_code == 200 and r.json()["payment_status"] == "none", r.text
    r = s.post(f"/admin/orders/{by_staff['id']}/cancel/", token=staff)
    assert r.status_code == 200 and r.json()["payment_status"] == "none", r.text
    expired = wait_until(lambda: (o := s.get(f"/store/orders/{left['id']}/", token=customer).json())["status"]
                         == "expired" and o, what="the expiry")
    assert expired["payment_status"] == "none" and expired["paid"] is False
    assert s.sql("SELECT DISTINCT payment_status FROM orders") == [("none",)]


# --- shipping ----------------------------------------------------------------------------------------------

def test_shipping_everything_and_then_nothing_is_left(server):
    staff, customer = staff_token(server), customer_token(server)
    a, b = product(server, staff), product(server, staff)
    order = paid_order(server, customer, [(a, 2), (b, 1)])
    f = ship(server, staff, order).json()
    assert set(f) == {"id", "carrier", "tracking_number", "tracking_url", "items", "shipped_at", "delivered_at"}
    assert (f["carrier"], f["tracking_number"], f["tracking_url"]) == ("DHL", "JD0123", "https://track.example.com/JD0123")
    assert sorted((i["product_id"], i["product"], i["quantity"]) for i in f["items"]) == sorted(
        [(a["id"], a["name"], 2), (b["id"], b["name"], 1)])
    assert f["delivered_at"] is None and f["shipped_at"].endswith("Z")

    body = server.get(f"/store/orders/{order['id']}/", token=customer).json()
    assert body["fulfilment_status"] == "fulfilled" and body["fulfilments"] == [f]
    assert body["status"] == "paid" and body["payment_status"] == "paid"
    err = assert_error(ship(server, staff, order, expect=None), 409, "fulfilment_exceeds_order")
    assert err["details"]["items"] == []
    err = assert_error(ship(server, staff, order, [(a, 1)], expect=None), 409, "fulfilment_exceeds_order")
    assert err["details"]["items"] == [{"product_id": a["id"], "product": a["name"], "ordered": 2, "shipped": 2,
                                        "requested": 1}]
    assert stock_of(server, staff, a["id"]) == 8  # shipping moves no stock: it left the shelf when ordered


def test_shipping_some_then_the_rest_and_never_more_than_ordered(server):
    staff, customer = staff_token(server), customer_token(server)
    a, b, other = product(server, staff), product(server, staff), product(server, staff)
    order = paid_order(server, customer, [(a, 3), (b, 2)])
    first = ship(server, staff, order, [(a, 1)]).json()
    assert [(i["product_id"], i["quantity"]) for i in first["items"]] == [(a["id"], 1)]
    assert staff_view(server, staff, order)["fulfilment_status"] == "partially_fulfilled"

    err = assert_error(ship(server, staff, order, [(a, 3), (b, 2)], expect=None), 409, "fulfilment_exceeds_order")
    assert err["details"]["items"] == [{"product_id": a["id"], "product": a["name"], "ordered": 3, "shipped": 1,
                                        "requested": 3}]
    err = assert_error(ship(server, staff, order, [(other, 1)], expect=None), 409, "fulfilment_exceeds_order")
    assert err["details"]["items"][0]["ordered"] == 0 and err["details"]["items"][0]["product"] is None
    # The same product twice in one request is added together.
    body = {"carrier": "UPS", "items": [{"product_id": a["id"], "quantity": 1}, {"product_id": a["id"], "quantity": 1}]}
    r = server.post(f"/admin/orders/{order['id']}/fulfilments/", token=staff, json=body)
    assert r.status_code == 201 and r.json()["items"][0]["quantity"] == 2, r.text
    assert r.json()["tracking_number"] == "" and r.json()["tracking_url"] == ""
    rest = ship(server, staff, order).json()  # no items: what is left
    assert [(i["product_id"], i["quantity"]) for i in rest["items"]] == [(b["id"], 2)]
    view = staff_view(server, staff, order)
    assert view["fulfilment_status"] == "fulfilled" and len(view["fulfilments"]) == 3
    assert [f["id"] for f in view["fulfilments"]] == sorted(f["id"] for f in view["fulfilments"])


@pytest.mark.parametrize("how", ["pending", "cancelled", "expired"])
def test_only_paid_orders_are_shipped_or_returned(make_server, how):
    s = make_server(env={"ORDERD_RESERVATION_TTL": "1s", "ORDERD_SWEEP_INTERVAL": "100ms"}) if how == "expired" else \
        make_server()
    staff, customer = staff_token(s), customer_token(s)
    p = product(s, staff)
    order = place(s, customer, product_id=p["id"], expect=201).json()
    if how == "cancelled":
        assert s.post(f"/store/orders/{order['id']}/cancel/", token=customer).status_code == 200
    if how == "expired":
        wait_until(lambda: s.get(f"/store/orders/{order['id']}/", token=customer).json()["status"] == "expired")
    status = "pending_payment" if how == "pending" else how
    err = assert_error(ship(s, staff, order, expect=None), 409, "order_not_paid")
    assert err["details"] == {"status": status, "payment_status": "awaiting" if how == "pending" else "none"}
    assert_error(take_back(s, staff, order, [(p, 1, True)], expect=None), 409, "order_not_paid")
    assert s.sql("SELECT count(*) FROM fulfilments")[0][0] == 0 and s.sql("SELECT shipped FROM order_items") == [(0,)]


def test_delivery_once_per_fulfilment_and_the_status_follows(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 3)])
    first = ship(server, staff, order, [(p, 1)]).json()
    second = ship(server, staff, order, [(p, 2)]).json()
    url = f"/admin/orders/{order['id']}/fulfilments/{first['id']}/delivered/"
    r = server.post(url, token=staff)
    assert r.status_code == 200 and r.json()["delivered_at"] is not None, r.text
    assert staff_view(server, staff, order)["fulfilment_status"] == "partially_delivered"
    again = server.post(url, token=staff)  # idempotent: the same answer, nothing counted twice
    assert again.status_code == 200 and again.json() == r.json(), again.text
    assert server.sql("SELECT delivered FROM order_items WHERE order_id = ?", (order["id"],)) == [(1,)]
    done = server.post(f"/admin/orders/{order['id']}/fulfilments/{second['id']}/delivered/", token=staff)
    assert done.status_code == 200, done.text
    body = server.get(f"/store/orders/{order['id']}/", token=customer).json()
    assert body["fulfilment_status"] == "delivered" and all(f["delivered_at"] for f in body["fulfilments"])


def test_concurrent_deliveries_of_one_fulfilment_count_once(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 2)])
    f = ship(server, staff, order).json()
    url = f"/admin/orders/{order['id']}/fulfilments/{f['id']}/delivered/"
    answers = at_once(10, lambda i: server.post(url, token=staff))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["delivered_at"] for a in answers}) == 1
    assert server.sql("SELECT delivered FROM order_items WHERE order_id = ?", (order["id"],)) == [(2,)]


def test_missing_orders_and_other_orders_fulfilments_are_not_found(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    mine, other = paid_order(server, customer, [(p, 1)]), paid_order(server, customer, [(p, 1)])
    f = ship(server, staff, other).json()
    assert_error(server.post(f"/admin/orders/{mine['id']}/fulfilments/{f['id']}/delivered/", token=staff), 404,
                 "not_found")
    assert_error(server.post(f"/admin/orders/{other['id']}/fulfilments/999999999/delivered/", token=staff), 404,
                 "not_found")
    assert_error(ship(server, staff, {"id": 999999999}, expect=None), 404, "not_found")
    assert_error(take_back(server, staff, {"id": 999999999}, [(p, 1, False)], expect=None), 404, "not_found")
    assert_error(server.post("/admin/orders/999999999/fulfilments/1/delivered/", token=staff), 404, "not_found")
    assert_error(server.post(f"/admin/orders/{other['id']}/fulfilments/abc/delivered/", token=staff), 404,
                 "not_found")
    assert staff_view(server, staff, mine)["fulfilments"] == []


def test_customers_cannot_call_the_staff_routes(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 2)])
    f = ship(server, staff, order, [(p, 1)]).json()
    body = {"carrier": "DHL"}
    assert_error(server.post(f"/admin/orders/{order['id']}/fulfilments/", token=customer, json=body), 403, "forbidden")
    assert_error(server.post(f"/admin/orders/{order['id']}/fulfilments/{f['id']}/delivered/", token=customer), 403,
                 "forbidden")
    r = server.post(f"/admin/orders/{order['id']}/returns/", token=customer,
                    json={"items": [{"product_id": p["id"], "quantity": 1}], "reason": "x"})
    assert_error(r, 403, "forbidden")
    assert_error(server.post(f"/admin/orders/{order['id']}/fulfilments/", json=body), 401, "not_authenticated")
    view = staff_view(server, staff, order)
    assert len(view["fulfilments"]) == 1 and view["fulfilments"][0]["delivered_at"] is None and view["returns"] == []


@pytest.mark.parametrize("body, field", [
    ({}, "carrier"),
    ({"carrier": ""}, "carrier"),
    ({"carrier": 7}, "carrier"),
    ({"carrier": "x" * 101}, "carrier"),
    ({"carrier": "DHL", "tracking_number": "9" * 101}, "tracking_number"),
    ({"carrier": "DHL", "tracking_url": "javascript:alert(1)"}, "tracking_url"),
    ({"carrier": "DHL", "tracking_url": "https://"}, "tracking_url"),
    ({"carrier": "DHL", "tracking_url": "https://x.example/a b"}, "tracking_url"),
    ({"carrier": "DHL", "tracking_url": "ftp://x.example/"}, "tracking_url"),
    ({"carrier": "DHL", "tracking_url": "https://x.example/" + "a" * 2000}, "tracking_url"),
    ({"carrier": "DHL", "items": []}, "items"),
    ({"carrier": "DHL", "items": "all"}, "items"),
    ({"carrier": "DHL", "items": [{"product_id": 1, "quantity": 0}]}, "items"),
    ({"carrier": "DHL", "items": [{"product_id": "1", "quantity": 1}]}, "items"),
    ({"carrier": "DHL", "items": [{"product_id": 1, "quantity": 10001}]}, "items"),
    ({"carrier": "DHL", "items": [{"product_id": 1, "quantity": 1}] * 101}, "items"),
])
def test_bad_fulfilment_bodies_are_400_and_ship_nothing(server, body, field):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 1)])
    err = assert_error(server.post(f"/admin/orders/{order['id']}/fulfilments/", token=staff, json=body), 400,
                       "validation_error")
    assert field in err["details"], err
    assert staff_view(server, staff, order)["fulfilments"] == []


def test_u0000_is_refused_in_every_free_text_field(server):
    # As DRF's CharField refuses it: a NUL went into the CSV export and into a low-stock email's
    # Subject header, which a mail server may refuse.
    nul = "a\u0000b"
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 1)])
    ship(server, staff, order, [(p, 1)])
    attempts = [
        ("POST", "/store/products/", staff, {"name": nul, "price": "1.00", "stock": 1}, "name"),
        ("POST", "/store/products/", staff, {"name": unique("P"), "description": nul, "price": "1.00", "stock": 1},
         "description"),
        ("PATCH", f"/store/products/{p['id']}/", staff, {"name": nul}, "name"),
        ("POST", "/store/place_order/", customer, {"items": [{"productName": nul, "quantity": 1}]}, "items"),
        ("POST", f"/admin/orders/{order['id']}/fulfilments/", staff, {"carrier": nul}, "carrier"),
        ("POST", f"/admin/orders/{order['id']}/returns/", staff,
         {"items": [{"product_id": p["id"], "quantity": 1}], "reason": nul}, "reason"),
        ("POST", f"/admin/orders/{order['id']}/refunds/", staff, {"amount": "1.00", "reason": nul}, "reason"),
        ("POST", "/admin/webhooks/", staff, {"url": "http://127.0.0.1:9/hook", "events": ["order.paid"],
                                             "description": nul}, "description"),
        ("POST", "/register/", None, {"email": f"{unique()}@example.com", "username": unique(),
                                      "password": "a-fine-pass\u0000word"}, "password"),
    ]
    for method, path, token, body, field in attempts:
        r = server.request(method, path, token=token, json=body, headers={"Idempotency-Key": unique("k")})
        err = assert_error(r, 400, "validation_error")
        assert "Null characters are not allowed." in json.dumps(err["details"].get(field)), (path, err)
    after = server.get(f"/store/orders/{order['id']}/", token=customer).json()
    assert (after["returns"], after["refunds"], len(after["fulfilments"])) == ([], [], 1), after
    assert server.get(f"/store/products/{p['id']}/", token=staff).json()["name"] == p["name"]


def test_a_megabyte_carrier_is_refused_cleanly(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 1)])
    for size in (1024 * 1024 - 100, 1024 * 1024 + 10):
        r = server.post(f"/admin/orders/{order['id']}/fulfilments/", token=staff, json={"carrier": "x" * size})
        assert r.status_code in (400, 413), r.text[:300]
        assert r.json()["code"] in ("validation_error", "payload_too_large")
    r = server.post(f"/admin/orders/{order['id']}/returns/", token=staff,
                    json={"items": [{"product_id": p["id"], "quantity": 1}], "reason": "y" * (1024 * 1024 - 100)})
    assert r.status_code == 400 and "reason" in r.json()["details"], r.text[:300]
    assert staff_view(server, staff, order)["fulfilments"] == []


def test_twenty_concurrent_ships_of_one_unit_ship_exactly_five(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 5)])
    answers = at_once(20, lambda i: ship(server, staff, order, [(p, 1)], expect=None))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 5 + [409] * 15, [a.text for a in answers if a.status_code not in (201, 409)]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"fulfilment_exceeds_order"}
    assert server.sql("SELECT shipped FROM order_items WHERE order_id = ?", (order["id"],)) == [(5,)]
    view = staff_view(server, staff, order)
    assert view["fulfilment_status"] == "fulfilled" and len(view["fulfilments"]) == 5


def test_the_same_fulfilment_sent_twice_at_once_with_a_key_ships_once(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 4)])
    key = {"Idempotency-Key": unique("ship")}
    answers = at_once(8, lambda i: server.post(f"/admin/orders/{order['id']}/fulfilments/", token=staff, headers=key,
                                               json={"carrier": "DHL", "items": [{"product_id": p["id"], "quantity": 1}]}))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert server.sql("SELECT shipped FROM order_items WHERE order_id = ?", (order["id"],)) == [(1,)]
    other = server.post(f"/admin/orders/{order['id']}/fulfilments/", token=staff, headers=key, json={"carrier": "UPS"})
    assert_error(other, 409, "idempotency_conflict")


# --- returns -------------------------------------------------------------------------------------------------

def test_returns_with_and_without_restock(server):
    staff, customer = staff_token(server), customer_token(server)
    a, b = product(server, staff, stock=10, price="12.25"), product(server, staff, stock=10)
    order = paid_order(server, customer, [(a, 3), (b, 1)])
    assert_error(take_back(server, staff, order, [(a, 1, True)], expect=None), 409, "return_exceeds_shipped")
    ship(server, staff, order, [(a, 3)])

    first = take_back(server, staff, order, [(a, 1, True)], refund="0.00").json()
    assert set(first) == {"id", "reason", "items", "created_at", "refund"} and first["refund"] is None
    assert first["items"] == [{"product_id": a["id"], "product": a["name"], "quantity": 1, "restock": True,
                               "restocked": 1}]
    assert stock_of(server, staff, a["id"]) == 8  # one of the three back on the shelf
    assert staff_view(server, staff, order)["fulfilment_status"] == "partially_returned"

    second = take_back(server, staff, order, [(a, 2, False)], refund="0.00").json()
    assert second["items"][0]["restock"] is False and second["items"][0]["restocked"] == 0
    assert stock_of(server, staff, a["id"]) == 8  # broken units do not go back
    err = assert_error(take_back(server, staff, order, [(a, 1, True)], expect=None), 409, "return_exceeds_shipped")
    assert err["details"]["items"] == [{"product_id": a["id"], "product": a["name"], "shipped": 3, "returned": 3,
                                        "requested": 1}]
    err = assert_error(take_back(server, staff, order, [(b, 1, True)], expect=None), 409, "return_exceeds_shipped")
    assert err["details"]["items"][0]["shipped"] == 0
    ship(server, staff, order)
    take_back(server, staff, order, [(b, 1, True)], refund="0.00")
    body = server.get(f"/store/orders/{order['id']}/", token=customer).json()
    assert body["fulfilment_status"] == "returned" and [r["id"] for r in body["returns"]] == [first["id"], second["id"],
                                                                                              body["returns"][2]["id"]]
    assert body["status"] == "paid" and stock_of(server, staff, b["id"]) == 10


def test_a_return_refunds_the_returned_units_price_unless_told_otherwise(server):
    staff, customer = staff_token(server), customer_token(server)
    a, b = product(server, staff, stock=10, price="12.25"), product(server, staff, stock=10, price="5.00")
    order = paid_order(server, customer, [(a, 2), (b, 1)])  # 29.50
    ship(server, staff, order)
    first = take_back(server, staff, order, [(a, 1, True)]).json()
    assert first["refund"]["amount"] == "12.25" and first["refund"]["status"] == "succeeded"
    assert first["refund"]["return_id"] == first["id"] and first["refund"]["order_id"] == order["id"]
    body = server.get(f"/store/orders/{order['id']}/", token=customer).json()
    assert body["payment_status"] == "partially_refunded" and body["refunds"] == [first["refund"]]

    second = take_back(server, staff, order, [(b, 1, False)], refund="3.00").json()
    assert second["refund"]["amount"] == "3.00"
    # More than is left of the payment: nothing is returned, restocked or refunded.
    over = assert_error(take_back(server, staff, order, [(a, 1, True)], refund="100.00", expect=None), 409,
                        "refund_exceeds_payment")
    assert over["details"]["available"] == "14.25"
    view = staff_view(server, staff, order)
    assert len(view["returns"]) == 2 and len(view["refunds"]) == 2 and stock_of(server, staff, a["id"]) == 9
    assert view["fulfilment_status"] == "partially_returned"
    last = take_back(server, staff, order, [(a, 1, True)], refund="14.25").json()
    assert last["refund"]["status"] == "succeeded"
    view = staff_view(server, staff, order)
    assert view["payment_status"] == "refunded" and view["fulfilment_status"] == "returned"
    assert [r["amount"] for r in view["refunds"]] == ["12.25", "3.00", "14.25"]
    assert stock_of(server, staff, a["id"]) == 10 and stock_of(server, staff, b["id"]) == 9


def test_a_refused_refund_leaves_the_return_standing(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff, stock=10, price="8.00")
    order = paid_order(server, customer, [(p, 2)], number=REFUSES_REFUNDS)
    ship(server, staff, order)
    r = take_back(server, staff, order, [(p, 2, True)]).json()
    assert r["refund"]["status"] == "failed" and r["refund"]["amount"] == "16.00"
    view = staff_view(server, staff, order)
    assert view["fulfilment_status"] == "returned" and view["payment_status"] == "paid"
    assert stock_of(server, staff, p["id"]) == 10
    assert server.sql("SELECT refund_held, refunded_amount FROM orders WHERE id = ?", (order["id"],)) == [(0, 0)]


@pytest.mark.parametrize("body, field", [
    ({"reason": "x"}, "items"),
    ({"items": [], "reason": "x"}, "items"),
    ({"items": [{"product_id": 1, "quantity": 1, "restock": "yes"}], "reason": "x"}, "items"),
    ({"items": [{"product_id": 1, "quantity": 1}]}, "reason"),
    ({"items": [{"product_id": 1, "quantity": 1}], "reason": ""}, "reason"),
    ({"items": [{"product_id": 1, "quantity": 1}], "reason": "x" * 501}, "reason"),
    ({"items": [{"product_id": 1, "quantity": 1}], "reason": "x", "refund": "1.234"}, "refund"),
    ({"items": [{"product_id": 1, "quantity": 1}], "reason": "x", "refund": "-1.00"}, "refund"),
    ({"items": [{"product_id": 1, "quantity": 1}], "reason": "x", "refund": "lots"}, "refund"),
])
def test_bad_return_bodies_are_400_and_return_nothing(server, body, field):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff)
    order = paid_order(server, customer, [(p, 1)])
    ship(server, staff, order)
    err = assert_error(server.post(f"/admin/orders/{order['id']}/returns/", token=staff, json=body), 400,
                       "validation_error")
    assert field in err["details"], err
    assert staff_view(server, staff, order)["returns"] == [] and stock_of(server, staff, p["id"]) == 9


def test_concurrent_returns_never_return_more_than_shipped(server):
    staff, customer = staff_token(server), customer_token(server)
    p = product(server, staff, stock=10)
    order = paid_order(server, customer, [(p, 4)])
    ship(server, staff, order)
    answers = at_once(12, lambda i: take_back(server, staff, order, [(p, 1, True)], expect=None, refund="0"))
    assert sorted(a.status_code for a in answers) == [201] * 4 + [409] * 8, [a.text for a in answers]
    assert stock_of(server, staff, p["id"]) == 10
    assert server.sql("SELECT returned FROM order_items WHERE order_id = ?", (order["id"],)) == [(4,)]
    assert staff_view(server, staff, order)["fulfilment_status"] == "returned"


def test_metrics_count_shipments_and_returns(make_server):
    s = make_server()
    staff, customer = staff_token(s), customer_token(s)
    p = product(s, staff)
    order = paid_order(s, customer, [(p, 2)])
    ship(s, staff, order, [(p, 1)])
    ship(s, staff, order)
    take_back(s, staff, order, [(p, 1, False)], refund="0")
    metrics = s.get("/metrics").text
    assert "orderd_fulfilments_total 2" in metrics and "orderd_returns_total 1" in metrics


# --- the restock arithmetic --------------------------------------------------------------------------------

def held_units(server, staff, order_ids):
    """Units each product's orders hold: every line of a pending or paid order, less what its returns
    put back on the shelf. Units returned without restock stay counted as held (they left the shelf
    and never came back); cancelled and expired orders hold nothing (their stock came back)."""
    held = {}
    for oid in order_ids:
        order = staff_view(server, staff, {"id": oid})
        if order["status"] not in ("pending_payment", "paid"):
            continue
        for item in order["items"]:
            held[item["product_id"]] = held.get(item["product_id"], 0) + item["quantity"]
        for returned in order["returns"]:
            for item in returned["items"]:
                held[item["product_id"]] -= item["restocked"]
    return held


def test_restock_arithmetic_after_a_random_mix(make_server):
    """For every product, at any quiet moment:

        initial stock = shelf stock + sum over pending_payment and paid orders of
                        (units ordered - units returned with restock)

    Cancelled and expired orders gave all their units back; shipping moves no stock (the units left
    the shelf when the order was placed); a return without restock keeps its units counted as held."""
    s = make_server(env={"ORDERD_RESERVATION_TTL": "2s", "ORDERD_SWEEP_INTERVAL": "100ms"})
    staff, customers = staff_token(s), [customer_token(s) for _ in range(3)]
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    products = [product(s, staff, stock=rng.randint(20, 60), price=f"{rng.randint(1, 40)}.50") for _ in range(4)]
    initial = {p["id"]: p["stock"] for p in products}
    orders = []
    for step in range(60):
        who = rng.choice(customers)
        lines = [{"product_id": p["id"], "quantity": rng.randint(1, 3)} for p in rng.sample(products, rng.randint(1, 3))]
        r = place(s, who, lines)
        if r.status_code != 201:
            assert r.json()["code"] == "insufficient_stock", (seed, r.text)
            continue
        order = r.json()
        orders.append(order["id"])
        fate = rng.choice(["leave", "cancel", "pay", "pay", "pay", "staff_cancel"])
        if fate == "cancel":
            assert s.post(f"/store/orders/{order['id']}/cancel/", token=who).status_code == 200
        if fate in ("pay", "staff_cancel") and pay(s, who, order).status_code == 200:
            mix_after_payment(s, staff, order, fate, rng, seed)
    unpaid = lambda: [o for o in orders if staff_view(s, staff, {"id": o})["status"] == "pending_payment"]
    wait_until(lambda: not unpaid(), timeout=30, what="every unpaid order expired")
    held = held_units(s, staff, orders)
    for p in products:
        assert initial[p["id"]] == stock_of(s, staff, p["id"]) + held.get(p["id"], 0), (seed, p["id"])
    statuses = {staff_view(s, staff, {"id": o})["status"] for o in orders}
    assert "paid" in statuses and "expired" in statuses, (seed, statuses)


def mix_after_payment(s, staff, order, fate, rng, seed):
    """After a payment: a staff cancel (returns every unit while nothing is shipped; refused until
    staff may cancel paid orders), or some shipments and returns, each with or without restock."""
    if fate == "staff_cancel":
        r = s.post(f"/admin/orders/{order['id']}/cancel/", token=staff)
        assert r.status_code in (200, 409), (seed, r.text)
        return
    view = staff_view(s, staff, order)
    for _ in range(rng.randint(0, 2)):
        items = [(item_ref(i), rng.randint(1, i["quantity"])) for i in view["items"] if rng.random() < 0.7]
        r = ship(s, staff, order, items or None, expect=None)
        assert r.status_code in (201, 409), (seed, r.text)
    view = staff_view(s, staff, order)
    shipped = {}
    for f in view["fulfilments"]:
        for i in f["items"]:
            shipped[i["product_id"]] = shipped.get(i["product_id"], 0) + i["quantity"]
    back = [({"id": pid}, rng.randint(1, n), rng.random() < 0.5) for pid, n in shipped.items() if rng.random() < 0.6]
    if back:
        r = take_back(s, staff, order, back, expect=None, refund="0.00")
        assert r.status_code == 201, (seed, r.text)


def item_ref(item):
    return {"id": item["product_id"]}


# --- two nodes -------------------------------------------------------------------------------------------------

@postgres_only
def test_two_nodes_racing_the_same_ship_never_over_ship(tmp_path):
    url = fresh_database_url(tmp_path)
    nodes = [Server(tmp_path / f"node{i}", env={"ORDERD_DATABASE_URL": url}) for i in range(2)]
    try:
        for node in nodes:
            node.start()
        staff, customer = staff_token(nodes[0]), customer_token(nodes[0])
        p = product(nodes[0], staff)
        order = paid_order(nodes[0], customer, [(p, 5)])
        answers = at_once(20, lambda i: ship(nodes[i % 2], staff, order, [(p, 1)], expect=None))
        assert sorted(a.status_code for a in answers) == [201] * 5 + [409] * 15, [a.text for a in answers]
        f = answers[[a.status_code for a in answers].index(201)].json()
        delivered = at_once(6, lambda i: nodes[i % 2].post(
            f"/admin/orders/{order['id']}/fulfilments/{f['id']}/delivered/", token=staff))
        assert {d.status_code for d in delivered} == {200}
        returned = at_once(8, lambda i: take_back(nodes[i % 2], staff, order, [(p, 1, True)], expect=None, refund="0"))
        assert sorted(r.status_code for r in returned) == [201] * 5 + [409] * 3, [r.text for r in returned]
        assert nodes[1].sql("SELECT shipped, delivered, returned FROM order_items WHERE order_id = ?",
                            (order["id"],)) == [(5, 1, 5)]
        assert stock_of(nodes[1], staff, p["id"]) == 10
        assert staff_view(nodes[1], staff, order)["fulfilment_status"] == "returned"
    finally:
        for node in nodes:
            node.stop()
