"""Orders: all-or-nothing placement, no overselling under concurrency, ownership, cancel, expiry,
idempotency keys, the staff view."""
import concurrent.futures
import http.client
import json
import time

import pytest

from conftest import assert_error, customer_token, login, pay, place, register, staff_token, unique, wait_until


@pytest.fixture(scope="module")
def staff(server):
    return staff_token(server)


@pytest.fixture
def customer(server):
    return customer_token(server)


def product(server, staff, price="50.00", stock=100, name=None):
    r = server.post("/store/products/", token=staff,
                    json={"name": name or unique("P"), "description": "", "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def stock_of(server, staff, pid):
    return server.get(f"/store/products/{pid}/", token=staff).json()["stock"]




# --- placing -------------------------------------------------------------------------------------

def test_place_order_returns_the_old_body_plus_status(server, staff, customer):
    a = product(server, staff, price="50.00")
    b = product(server, staff, price="30.00")
    r = place(server, customer, [{"productName": a["name"], "quantity": 2}, {"productName": b["name"], "quantity": 1}])
    assert r.status_code == 201, r.text
    o = r.json()
    assert set(o) >= {"id", "customer", "total_amount", "paid", "created_at", "status", "expires_at", "items"}
    assert o["total_amount"] == "130.00" and o["paid"] is False and o["status"] == "pending_payment"
    assert o["created_at"].endswith("Z") and o["expires_at"] > o["created_at"]
    assert o["items"] == [
        {"product_id": a["id"], "product": a["name"], "price": "50.00", "quantity": 2, "totalprice": "100.00"},
        {"product_id": b["id"], "product": b["name"], "price": "30.00", "quantity": 1, "totalprice": "30.00"},
    ]
    assert stock_of(server, staff, a["id"]) == 98 and stock_of(server, staff, b["id"]) == 99
    me = server.get("/user/", token=customer).json()
    assert o["customer"] == me["username"]


def test_items_by_id_and_name_are_merged(server, staff, customer):
    a = product(server, staff, price="0.10")
    r = server.post("/store/place_order", token=customer,
                    json={"items": [{"productName": a["name"], "quantity": 2}, {"product_id": a["id"], "quantity": 1}]})
    assert r.status_code == 201, r.text
    assert r.json()["items"] == [{"product_id": a["id"], "product": a["name"], "price": "0.10", "quantity": 3,
                                  "totalprice": "0.30"}]
    assert r.json()["total_amount"] == "0.30"


def test_money_adds_up_exactly(server, staff, customer):
    a = product(server, staff, price=0.1)
    b = product(server, staff, price=0.2)
    r = place(server, customer, [{"product_id": a["id"], "quantity": 1}, {"product_id": b["id"], "quantity": 1}])
    assert r.json()["total_amount"] == "0.30"


@pytest.mark.parametrize("lines,message", [
    ([("0.00", 3)], "nothing to pay"),                      # a free product alone: the gateway charges no 0
    ([("1000000000.00", 2)], "no more than 1000000000.00"),  # more than make_payment takes
    ([("999999999.99", 1), ("0.02", 1)], "no more than 1000000000.00"),
])
def test_an_order_that_could_never_be_paid_is_refused_and_takes_nothing(server, staff, customer, lines, message):
    products = [product(server, staff, price=price, stock=10) for price, _ in lines]
    items = [{"product_id": p["id"], "quantity": q} for p, (_, q) in zip(products, lines)]
    err = assert_error(place(server, customer, items), 400, "validation_error")
    assert message in err["details"]["items"][0], err
    assert all(stock_of(server, staff, p["id"]) == 10 for p in products)
    assert server.get("/store/orders/", token=customer).json()["count"] == 0


def test_the_largest_payable_total_is_placed_and_paid(server, staff, customer):
    a, free = product(server, staff, price="999999999.99"), product(server, staff, price="0.00")
    b = product(server, staff, price="0.01")
    order = place(server, customer, [{"product_id": p["id"], "quantity": 1} for p in (a, free, b)], expect=201).json()
    assert order["total_amount"] == "1000000000.00"
    assert pay(server, customer, order).status_code == 200


def test_unknown_item_changes_nothing(server, staff, customer):
    a = product(server, staff, stock=5)
    r = place(server, customer, [{"productName": a["name"], "quantity": 1}, {"productName": "no such thing", "quantity": 1}])
    body = assert_error(r, 400, "unknown_product")
    assert "no such thing" in body["error"]
    assert stock_of(server, staff, a["id"]) == 5
    assert server.get("/store/orders/", token=customer).json()["count"] == 0
    assert_error(place(server, customer, [{"product_id": 99999999, "quantity": 1}]), 400, "unknown_product")


def test_an_unknown_name_of_a_megabyte_is_not_echoed_whole(server, customer):
    # An audit saw a 1 MB name come back twice, in the message and in details: 2 MB per request.
    name = "é" + "x" * 1_000_000
    r = place(server, customer, [{"productName": name, "quantity": 1}])
    body = assert_error(r, 400, "unknown_product")
    assert len(r.content) < 4000
    assert body["details"]["product"] == name[:799] + "\u2026"
    assert body["error"] == f"Product '{name[:799]}\u2026' does not exist"


def test_short_item_changes_nothing_and_says_what_is_available(server, staff, customer):
    a = product(server, staff, stock=5)
    b = product(server, staff, stock=2)
    r = place(server, customer, [{"productName": a["name"], "quantity": 5}, {"productName": b["name"], "quantity": 3}])
    body = assert_error(r, 400, "insufficient_stock")
    assert b["name"] in body["error"]
    assert body["details"]["available"] == 2 and body["details"]["product_id"] == b["id"]
    assert stock_of(server, staff, a["id"]) == 5 and stock_of(server, staff, b["id"]) == 2
    assert server.get("/store/orders/", token=customer).json()["count"] == 0


def test_prices_are_copied_at_placement(server, staff, customer):
    a = product(server, staff, price="10.00")
    o = place(server, customer, [{"product_id": a["id"], "quantity": 1}]).json()
    server.patch(f"/store/products/{a['id']}/", token=staff, json={"price": "99.00", "name": a["name"] + " v2"})
    again = server.get(f"/store/orders/{o['id']}/", token=customer).json()
    assert again["items"][0]["price"] == "10.00" and again["items"][0]["product"] == a["name"]
    assert again["total_amount"] == "10.00"


def test_a_deleted_product_is_archived_and_its_orders_still_show_it(server, staff, customer):
    a = product(server, staff)
    o = place(server, customer, [{"product_id": a["id"], "quantity": 1}]).json()
    assert server.delete(f"/store/products/{a['id']}/", token=staff).status_code == 204
    assert_error(server.get(f"/store/products/{a['id']}/", token=customer), 404, "not_found")
    assert server.get(f"/store/orders/{o['id']}/", token=customer).json()["items"][0]["product"] == a["name"]
    assert_error(place(server, customer, [{"product_id": a["id"], "quantity": 1}]), 400, "unknown_product")


@pytest.mark.parametrize("body,code", [
    ({}, "empty_items"),
    ({"items": []}, "empty_items"),
    ({"items": None}, "empty_items"),
    ({"items": "Product A"}, "validation_error"),
    ({"items": [{"productName": "x"}]}, "validation_error"),
    ({"items": [{"quantity": 1}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": 0}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": -2}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": 1.5}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": "2.5"}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": "two"}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": ""}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": "1e3"}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": "0x10"}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": "99999999999999999999"}]}, "validation_error"),
    ({"items": [{"product_id": "one", "quantity": 1}]}, "validation_error"),
    ({"items": [{"product_id": "-1", "quantity": 1}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": 10001}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": 10 ** 30}]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": True}]}, "validation_error"),
    ({"items": [{"productName": 5, "quantity": 1}]}, "validation_error"),
    ({"items": [{"productName": "", "quantity": 1}]}, "validation_error"),
    ({"items": [{"product_id": 0, "quantity": 1}]}, "validation_error"),
    ({"items": [{"product_id": 1, "productName": "x", "quantity": 1}]}, "validation_error"),
    ({"items": ["x"]}, "validation_error"),
    ({"items": [{"productName": "x", "quantity": 1}] * 101}, "validation_error"),
])
def test_bad_input(server, customer, body, code):
    assert_error(server.post("/store/place_order/", token=customer, json=body), 400, code)


def test_integers_are_read_as_drf_read_them_on_the_old_routes(server, staff, customer):
    # DRF's IntegerField took "2", 2.0 and "2.0" for 2, and JavaScript clients send a form input's
    # value as it is; orderd answered 400 (an old-client compatibility audit).
    a = product(server, staff, stock=100)
    for quantity in ("2", 2.0, "2.0", " 2 ", "+2"):
        r = place(server, customer, [{"product_id": str(a["id"]), "quantity": quantity}])
        assert r.status_code == 201, (quantity, r.text)
        assert r.json()["items"][0]["quantity"] == 2
        paid = pay(server, customer, {**r.json(), "id": str(r.json()["id"])})
        assert paid.status_code == 200, paid.text
    assert stock_of(server, staff, a["id"]) == 90
    r = server.post("/store/products/", token=staff, json={"name": unique("P"), "price": "1.00", "stock": "7"})
    assert r.status_code == 201 and r.json()["stock"] == 7, r.text
    # the new fields stay strictly typed (docs/contract.md)
    err = assert_error(server.patch(f"/store/products/{a['id']}/", token=staff, json={"stock_adjustment": "3"}),
                       400, "validation_error")
    assert "stock_adjustment" in err["details"]


def test_bad_item_details_point_at_the_item(server, customer):
    r = place(server, customer, [{"productName": "ok", "quantity": 1}, {"productName": "x", "quantity": 0}])
    body = assert_error(r, 400, "validation_error")
    assert body["details"]["items"][0] == {} and "quantity" in body["details"]["items"][1]


def test_merged_quantity_is_bounded(server, staff, customer):
    a = product(server, staff, stock=100000)
    r = place(server, customer, [{"product_id": a["id"], "quantity": 6000}, {"productName": a["name"], "quantity": 6000}])
    assert_error(r, 400, "validation_error")
    assert stock_of(server, staff, a["id"]) == 100000


def test_anonymous_cannot_order(server):
    assert_error(server.post("/store/place_order/", json={"items": []}), 401, "not_authenticated")


# --- concurrency ---------------------------------------------------------------------------------

def test_200_concurrent_buyers_for_10_units(server, staff):
    a = product(server, staff, stock=10)
    tokens = [customer_token(server) for _ in range(20)]

    def buy(i):
        return place(server, tokens[i % len(tokens)], [{"product_id": a["id"], "quantity": 1}])

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(buy, range(200)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 10, statuses
    assert statuses.count(400) == 190, statuses
    for r in responses:
        if r.status_code == 400:
            assert r.json()["code"] == "insufficient_stock"
    assert stock_of(server, staff, a["id"]) == 0
    [(sold,)] = server.sql("SELECT sum(quantity) FROM order_items WHERE product_id = ?", (a["id"],))
    assert sold == 10


def test_concurrent_multi_item_orders_never_oversell(server, staff):
    products = [product(server, staff, stock=30) for _ in range(3)]
    tokens = [customer_token(server) for _ in range(10)]

    def buy(i):
        items = [{"product_id": p["id"], "quantity": 1 + (i + k) % 3} for k, p in enumerate(products)]
        return place(server, tokens[i % 10], items[i % 3:] + items[:i % 3])

    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(buy, range(90)))
    assert all(r.status_code in (201, 400) for r in responses), [r.text for r in responses if r.status_code >= 500]
    for p in products:
        [(sold,)] = server.sql("SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = ?", (p["id"],))
        assert sold + stock_of(server, staff, p["id"]) == 30
        assert stock_of(server, staff, p["id"]) >= 0


# --- reading and ownership -----------------------------------------------------------------------

def test_list_shows_own_orders_newest_first(server, staff):
    me, other = customer_token(server), customer_token(server)
    a = product(server, staff)
    mine = [place(server, me, [{"product_id": a["id"], "quantity": 1}]).json()["id"] for _ in range(3)]
    place(server, other, [{"product_id": a["id"], "quantity": 1}])
    body = server.get("/store/orders/", token=me).json()
    assert body["count"] == 3
    assert [o["id"] for o in body["results"]] == sorted(mine, reverse=True)
    assert all(o["items"] for o in body["results"])


def test_listed_orders_carry_their_own_items(server, staff):
    # A page's items are read in a second statement (on PostgreSQL by the ids of the page's orders):
    # every listing, a customer's or staff's, must give each order exactly its items, in order.
    me = customer_token(server)
    a, b, c = (product(server, staff) for _ in range(3))
    placed = [place(server, me, items).json() for items in (
        [{"product_id": a["id"], "quantity": 1}],
        [{"product_id": a["id"], "quantity": 2}, {"product_id": b["id"], "quantity": 1}],
        [{"product_id": c["id"], "quantity": 3}, {"product_id": b["id"], "quantity": 2},
         {"product_id": a["id"], "quantity": 1}],
    )]
    newest_first = [server.get(f"/store/orders/{o['id']}/", token=me).json() for o in reversed(placed)]
    pages = [server.get("/store/orders/", token=me, params={"page_size": 2, "page": n}).json() for n in (1, 2)]
    assert pages[0]["results"] + pages[1]["results"] == newest_first
    username = server.get("/user/", token=me).json()["username"]
    found = server.get("/admin/orders/", token=staff, params={"search": username, "page_size": 100}).json()
    assert found["results"] == newest_first
    pending = server.get("/admin/orders/", token=staff, params={"status": "pending_payment", "page_size": 100}).json()
    assert [o for o in pending["results"] if o["customer"] == username] == newest_first


def test_others_orders_are_not_found(server, staff):
    me, other = customer_token(server), customer_token(server)
    a = product(server, staff, stock=3)
    o = place(server, me, [{"product_id": a["id"], "quantity": 1}]).json()
    assert_error(server.get(f"/store/orders/{o['id']}/", token=other), 404, "not_found")
    assert_error(server.post(f"/store/orders/{o['id']}/cancel/", token=other), 404, "not_found")
    assert_error(server.get("/store/orders/99999999/", token=me), 404, "not_found")
    assert server.get(f"/store/orders/{o['id']}/", token=me).json() == o
    assert stock_of(server, staff, a["id"]) == 2


def test_cancel_returns_stock_once(server, staff, customer):
    a = product(server, staff, stock=10)
    o = place(server, customer, [{"product_id": a["id"], "quantity": 4}]).json()
    r = server.post(f"/store/orders/{o['id']}/cancel/", token=customer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["paid"] is False
    assert stock_of(server, staff, a["id"]) == 10
    assert_error(server.post(f"/store/orders/{o['id']}/cancel/", token=customer), 409, "order_not_payable")
    assert stock_of(server, staff, a["id"]) == 10


def test_concurrent_cancels_return_stock_once(server, staff, customer):
    a = product(server, staff, stock=10)
    o = place(server, customer, [{"product_id": a["id"], "quantity": 4}]).json()
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(lambda _: server.post(f"/store/orders/{o['id']}/cancel/", token=customer).status_code,
                              range(10)))
    assert sorted(codes) == [200] + [409] * 9
    assert stock_of(server, staff, a["id"]) == 10


# --- reservations --------------------------------------------------------------------------------

def test_unpaid_orders_expire_and_return_stock_exactly_once(make_server):
    s = make_server(env={"ORDERD_RESERVATION_TTL": "1s", "ORDERD_SWEEP_INTERVAL": "100ms"})
    staff = staff_token(s)
    customer = customer_token(s)
    a = product(s, staff, stock=10)
    orders = [place(s, customer, [{"product_id": a["id"], "quantity": 2}]).json() for _ in range(3)]
    assert stock_of(s, staff, a["id"]) == 4
    # Cancel one while the others wait for the sweeper: each order's stock comes back once.
    assert s.post(f"/store/orders/{orders[0]['id']}/cancel/", token=customer).status_code == 200
    wait_until(lambda: all(s.get(f"/store/orders/{o['id']}/", token=customer).json()["status"] == "expired"
                           for o in orders[1:]))
    assert stock_of(s, staff, a["id"]) == 10
    assert_error(s.post(f"/store/orders/{orders[1]['id']}/cancel/", token=customer), 409, "order_not_payable")
    metrics = s.get("/metrics").text
    assert "orderd_orders_expired_total 2" in metrics and "orderd_orders_cancelled_total 1" in metrics
    assert stock_of(s, staff, a["id"]) == 10


# --- idempotency ---------------------------------------------------------------------------------

def test_same_key_replays_the_first_response(server, staff, customer):
    a = product(server, staff, stock=10)
    key = {"Idempotency-Key": unique("k")}
    first = place(server, customer, [{"product_id": a["id"], "quantity": 1}], headers=key)
    again = place(server, customer, [{"product_id": a["id"], "quantity": 1}], headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert stock_of(server, staff, a["id"]) == 9
    conflict = place(server, customer, [{"product_id": a["id"], "quantity": 2}], headers=key)
    assert_error(conflict, 409, "idempotency_conflict")
    # Keys belong to their user: another customer's identical key is a new order.
    other = customer_token(server)
    assert place(server, other, [{"product_id": a["id"], "quantity": 1}], headers=key).json()["id"] != first.json()["id"]
    assert stock_of(server, staff, a["id"]) == 8


def test_concurrent_duplicates_make_one_order(server, staff, customer):
    a = product(server, staff, stock=100)
    key = {"Idempotency-Key": unique("k")}
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: place(server, customer, [{"product_id": a["id"], "quantity": 1}],
                                                  headers=key), range(20)))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert stock_of(server, staff, a["id"]) == 99


def test_an_error_is_replayed_too(server, staff, customer):
    a = product(server, staff, stock=1)
    key = {"Idempotency-Key": unique("k")}
    assert_error(place(server, customer, [{"product_id": a["id"], "quantity": 2}], headers=key), 400,
                 "insufficient_stock")
    server.patch(f"/store/products/{a['id']}/", token=staff, json={"stock": 5})
    assert_error(place(server, customer, [{"product_id": a["id"], "quantity": 2}], headers=key), 400,
                 "insufficient_stock")
    assert stock_of(server, staff, a["id"]) == 5


def test_the_same_body_with_its_keys_in_another_order_is_the_same_request(server, staff, customer):
    a, b = product(server, staff, stock=10), product(server, staff, stock=10)
    key = {"Idempotency-Key": unique("k"), "Content-Type": "application/json"}
    first = server.post("/store/place_order/", token=customer, headers=key, data=json.dumps(
        {"items": [{"product_id": a["id"], "quantity": 1}, {"quantity": 2, "product_id": b["id"]}]}))
    again = server.post("/store/place_order/", token=customer, headers=key, data=json.dumps(
        {"items": [{"quantity": 1, "product_id": a["id"]}, {"product_id": b["id"], "quantity": 2}]}))
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = server.post("/store/place_order/", token=customer, headers=key, data=json.dumps(
        {"items": [{"product_id": b["id"], "quantity": 2}, {"product_id": a["id"], "quantity": 1}]}))
    assert_error(other, 409, "idempotency_conflict")  # a list's order is the client's to mean something by
    assert stock_of(server, staff, a["id"]) == 9 and stock_of(server, staff, b["id"]) == 8


def test_an_empty_or_repeated_key_header_is_refused(server, staff, customer):
    a = product(server, staff, stock=1)
    r = place(server, customer, [{"product_id": a["id"], "quantity": 1}], headers={"Idempotency-Key": ""})
    assert "Idempotency-Key" in assert_error(r, 400, "validation_error")["details"]
    body = json.dumps({"items": [{"product_id": a["id"], "quantity": 1}]})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("POST", "/store/place_order/")
    for header, value in [("Authorization", f"Bearer {customer}"), ("Content-Type", "application/json"),
                          ("Content-Length", str(len(body))), ("Idempotency-Key", "one"), ("Idempotency-Key", "two")]:
        connection.putheader(header, value)
    connection.endheaders(body.encode())
    answer = connection.getresponse()
    assert answer.status == 400, answer.read()
    assert "Idempotency-Key" in json.loads(answer.read())["details"]
    connection.close()
    assert stock_of(server, staff, a["id"]) == 1


@pytest.mark.parametrize("key", ["x" * 256, "caf\u00e9"])
def test_bad_keys_are_refused(server, staff, customer, key):
    a = product(server, staff, stock=1)
    r = place(server, customer, [{"product_id": a["id"], "quantity": 1}], headers={"Idempotency-Key": key.encode()})
    assert_error(r, 400, "validation_error")
    assert stock_of(server, staff, a["id"]) == 1


# --- staff ---------------------------------------------------------------------------------------

def test_staff_list_every_order_by_status(server, staff):
    c1, c2 = customer_token(server), customer_token(server)
    a = product(server, staff)
    o1 = place(server, c1, [{"product_id": a["id"], "quantity": 1}]).json()
    o2 = place(server, c2, [{"product_id": a["id"], "quantity": 1}]).json()
    server.post(f"/store/orders/{o2['id']}/cancel/", token=c2)
    cancelled = server.get("/admin/orders/", token=staff, params={"status": "cancelled", "page_size": 100}).json()
    ids = [o["id"] for o in cancelled["results"]]
    assert o2["id"] in ids and o1["id"] not in ids
    assert all(o["status"] == "cancelled" for o in cancelled["results"])
    everything = server.get("/admin/orders/", token=staff, params={"page_size": 100}).json()
    assert everything["count"] >= 2
    assert_error(server.get("/admin/orders/", token=staff, params={"status": "bogus"}), 400, "validation_error")
    assert_error(server.get("/admin/orders/", token=c1), 403, "forbidden")


def test_metrics_count_orders(server, staff, customer):
    a = product(server, staff, stock=1)
    place(server, customer, [{"product_id": a["id"], "quantity": 1}])
    place(server, customer, [{"product_id": a["id"], "quantity": 1}])
    text = server.get("/metrics").text
    assert "orderd_orders_placed_total" in text
    assert 'orderd_orders_rejected_total{reason="insufficient_stock"}' in text
