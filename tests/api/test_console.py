"""The staff console at a glance (issue #22): low-stock emails to staff who opted in, the CSV exports
of orders and products (streamed, in constant memory), the dashboard's sales over time in the shop's
time zone, and the attacker's and the unlucky user's side of each route."""
import csv
import io
import itertools
import json
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import (BIN, assert_error, customer_token, login, pay, place, postgres_only, register, staff_token,
                      unique, wait_until)
from test_multinode import customers, start_nodes  # noqa: F401 (a fixture)


def product(server, staff, name=None, price="10.00", stock=10):
    r = server.post("/store/products/", token=staff,
                    json={"name": name or unique("p"), "description": "", "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def me(server, token):
    return server.get("/user/", token=token).json()


def alerts(server, product_id=None):
    """The low_stock outbox rows: (recipient, product_id, stock), oldest first."""
    rows = server.sql("SELECT recipient, payload, order_id FROM outbox WHERE kind = 'low_stock' ORDER BY id")
    out = []
    for recipient, payload, order_id in rows:
        assert order_id is None
        context = json.loads(payload)
        if product_id is None or context["product_id"] == product_id:
            out.append((recipient, context["product_id"], context["stock"]))
    return out


def opt_in(server, staff, user_id, on=True):
    r = server.patch(f"/admin/users/{user_id}/", token=staff, json={"low_stock_alerts": on})
    assert r.status_code == 200, r.text
    assert r.json()["low_stock_alerts"] is on
    return r.json()


def read_csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.content.endswith(b"\r\n")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


# --- low-stock emails --------------------------------------------------------------------------------

def test_staff_opt_in_to_low_stock_emails_and_customers_cannot(make_server):
    s = make_server()
    staff = staff_token(s)
    staff_id = me(s, staff)["id"]
    customer, _ = register(s)
    # Staff rows show the opt-in (off until chosen); a customer's row is the old API's.
    rows = {u["id"]: u for u in s.get("/admin/users/?page_size=100", token=staff).json()["results"]}
    assert rows[staff_id]["low_stock_alerts"] is False
    assert "low_stock_alerts" not in rows[customer["id"]]

    opt_in(s, staff, staff_id)
    rows = {u["id"]: u for u in s.get("/admin/users/?page_size=100", token=staff).json()["results"]}
    assert rows[staff_id]["low_stock_alerts"] is True
    opt_in(s, staff, staff_id, on=False)

    r = s.patch(f"/admin/users/{customer['id']}/", token=staff, json={"low_stock_alerts": True})
    body = assert_error(r, 400, "validation_error")
    assert "low_stock_alerts" in body["details"]
    r = s.patch(f"/admin/users/{customer['id']}/", token=staff, json={"low_stock_alerts": "yes"})
    assert "low_stock_alerts" in assert_error(r, 400, "validation_error")["details"]
    # Promoted and opted in in one request: allowed; demoted: the opt-in goes with the role.
    r = s.patch(f"/admin/users/{customer['id']}/", token=staff, json={"role": "staff", "low_stock_alerts": True})
    assert r.status_code == 200 and r.json()["low_stock_alerts"] is True, r.text
    r = s.patch(f"/admin/users/{customer['id']}/", token=staff, json={"role": "customer"})
    assert r.status_code == 200 and "low_stock_alerts" not in r.json()
    assert s.sql("SELECT low_stock_alerts FROM users WHERE id = ?", (customer["id"],)) == [(0,)]
    # A customer cannot change anyone's opt-in.
    assert_error(s.patch(f"/admin/users/{staff_id}/", token=customer_token(s), json={"low_stock_alerts": True}),
                 403, "forbidden")
    assert_error(s.patch("/admin/users/999999/", token=staff, json={"low_stock_alerts": True}), 404, "not_found")


def test_a_product_name_of_200_cjk_characters_reaches_staff_in_a_folded_subject(make_server, smtp_sink):
    # The Subject was one line of 1,063 octets; an SMTP server refuses a line over 998 (RFC 5322),
    # so the alert was retried for hours and never arrived. Every line of the message is short now.
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url})
    staff = staff_token(s)
    opt_in(s, staff, me(s, staff)["id"])
    name = "\u5546" * 200
    p = product(s, staff, name=name, stock=6)
    place(s, customer_token(s), product_id=p["id"], quantity=2, expect=201)  # 6 -> 4: crosses the line (5)
    to = me(s, staff)["email"]
    mail = wait_until(lambda: [m for m in smtp_sink.received() if m.rcpt_tos == [to]], what="the low-stock email")[0]
    assert name in str(mail.header("Subject"))
    lines = mail.raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    first = next(i for i, line in enumerate(lines) if line.startswith(b"Subject: "))
    subject = [lines[first], *itertools.takewhile(lambda line: line.startswith(b" "), lines[first + 1:])]
    assert len(subject) > 10 and max(len(line) for line in subject) <= 78


def test_one_email_per_crossing_per_staff_member_again_after_a_restock(make_server):
    s = make_server()
    staff = staff_token(s)
    watcher, other = staff_token(s), staff_token(s)
    for token in (watcher, other):
        opt_in(s, staff, me(s, token)["id"])
    quiet = me(s, staff)["email"]  # staff who did not opt in get nothing
    customer = customer_token(s)
    p = product(s, staff, stock=7)

    place(s, customer, product_id=p["id"], quantity=1, expect=201)  # 7 -> 6: above the line (5)
    assert alerts(s, p["id"]) == []
    place(s, customer, product_id=p["id"], quantity=2, expect=201)  # 6 -> 4: crosses
    place(s, customer, product_id=p["id"], quantity=1, expect=201)  # 4 -> 3: still below, no new email
    emails = {me(s, t)["email"] for t in (watcher, other)}
    assert sorted(alerts(s, p["id"])) == sorted((e, p["id"], 4) for e in emails)
    assert quiet not in {a[0] for a in alerts(s)}

    # Restocked to the line, then sold below it again: a new crossing, a new email each.
    assert s.patch(f"/store/products/{p['id']}/", token=staff, json={"stock": 5}).status_code == 200
    assert len(alerts(s, p["id"])) == 2
    assert s.patch(f"/store/products/{p['id']}/", token=staff, json={"stock_adjustment": -4}).status_code == 200
    assert sorted(alerts(s, p["id"])) == sorted([(e, p["id"], 4) for e in emails] + [(e, p["id"], 1) for e in emails])
    # Each crossing is a row, and each email names it.
    crossings = s.sql("SELECT id, stock FROM low_stock_crossings WHERE product_id = ? ORDER BY id", (p["id"],))
    assert [stock for _, stock in crossings] == [4, 1]
    refs = s.sql("SELECT DISTINCT ref FROM outbox WHERE kind = 'low_stock' ORDER BY ref")
    assert [r for (r,) in refs] == [c for c, _ in crossings]

    # The worker sends them like any email, and staff can preview them.
    sent = wait_until(lambda: [e for e in s.get("/admin/emails/?status=sent&page_size=100", token=staff).json()["results"]
                               if e["kind"] == "low_stock"] or None, what="low-stock emails sent")
    preview = s.get(f"/admin/emails/{sent[0]['id']}/preview/", token=staff).json()
    assert p["name"] in preview["subject"] and "left" in preview["subject"], preview["subject"]
    assert sent[0]["order_id"] is None


def test_orders_placed_and_cancelled_in_a_loop_alert_staff_once(make_server):
    # Stock back from a cancelled order re-armed the alert: an audit made one customer's loop send 900
    # low-stock emails to three staff members in 2.3 s. Only a staff change of the product re-arms it.
    s = make_server()
    staff = staff_token(s)
    opt_in(s, staff, me(s, staff)["id"])
    customer = customer_token(s)
    p = product(s, staff, stock=6)
    for _ in range(5):
        order = place(s, customer, product_id=p["id"], quantity=2, expect=201).json()  # 6 -> 4: crosses
        assert s.post(f"/store/orders/{order['id']}/cancel/", token=customer).status_code == 200  # back to 6
    assert len(alerts(s, p["id"])) == 1
    assert s.patch(f"/store/products/{p['id']}/", token=staff, json={"stock": 8}).status_code == 200  # a restock
    place(s, customer, product_id=p["id"], quantity=4, expect=201)  # 8 -> 4
    assert len(alerts(s, p["id"])) == 2


def test_finished_emails_are_forgotten_after_mail_keep_and_each_products_last_crossing_is_kept(make_server):
    # The outbox and the crossings only grew (an audit): sent and failed emails, with their personal
    # data, now go after mail_keep; waiting ones stay, and so does each product's latest crossing.
    s = make_server(env={"ORDERD_MAIL_KEEP": "1s", "ORDERD_SWEEP_INTERVAL": "200ms"})
    staff = staff_token(s)
    opt_in(s, staff, me(s, staff)["id"])
    p = product(s, staff, stock=10)
    for stock in (4, 10, 3):  # two crossings, a restock between them
        assert s.patch(f"/store/products/{p['id']}/", token=staff, json={"stock": stock}).status_code == 200
    assert len(alerts(s, p["id"])) == 2
    wait_until(lambda: s.sql("SELECT COUNT(*) FROM outbox")[0][0] == 0, what="sent emails forgotten")
    crossings = s.sql("SELECT stock FROM low_stock_crossings WHERE product_id = ?", (p["id"],))
    assert crossings == [(3,)]
    assert s.get("/admin/emails/", token=staff).json()["count"] == 0


def test_a_sale_that_fails_queues_no_alert(make_server):
    s = make_server()
    staff = staff_token(s)
    opt_in(s, staff, me(s, staff)["id"])
    p = product(s, staff, stock=6)
    scarce = product(s, staff, stock=1)
    # The first line takes p across the line (6 -> 4), the second cannot be had: the order, and the
    # crossing with it, roll back.
    r = place(s, customer_token(s), [{"product_id": p["id"], "quantity": 2}, {"product_id": scarce["id"], "quantity": 5}])
    assert_error(r, 400, "insufficient_stock")
    assert alerts(s, p["id"]) == []
    assert s.sql("SELECT count(*) FROM low_stock_crossings") == [(0,)]
    assert s.get(f"/store/products/{p['id']}/", token=staff).json()["stock"] == 6


def test_concurrent_sales_across_the_line_queue_one_email(make_server):
    s = make_server()
    staff = staff_token(s)
    opt_in(s, staff, me(s, staff)["id"])
    p = product(s, staff, stock=8)
    tokens = [customer_token(s) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda t: place(s, t, product_id=p["id"], quantity=1).status_code, tokens))
    assert codes.count(201) == 8
    assert alerts(s, p["id"]) == [(me(s, staff)["email"], p["id"], 4)]


@postgres_only
def test_sales_on_two_nodes_across_the_line_queue_one_email_per_staff_member(start_nodes):
    nodes = start_nodes(2)
    staff = staff_token(nodes[0])
    opt_in(nodes[1], staff, me(nodes[0], staff)["id"])
    p = product(nodes[0], staff, stock=12)
    buyers = customers(nodes, 12)
    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda i: place(nodes[i % 2], buyers[i], product_id=p["id"], quantity=1).status_code,
                              range(12)))
    assert codes.count(201) == 12
    assert alerts(nodes[0], p["id"]) == [(me(nodes[0], staff)["email"], p["id"], 4)]
    # Both nodes export the same file.
    first, second = (read_csv(n.get("/admin/orders/export.csv", token=staff)) for n in nodes)
    assert first == second and len(first) == 13


def test_the_cli_previews_the_low_stock_email(make_server):
    s = make_server()
    p = s.cli("email", "preview", "low_stock")
    assert p.returncode == 0, p.stderr
    subject, _, text = p.stdout.partition("\n\n")
    assert subject == "Subject: Low stock at orderd shop: Product A (#42) has 3 left"
    assert "example_user" in text and "$50.00" in text and "below 5" in text and "{{" not in text
    p = s.cli("email", "preview", "low_stock", "--html")
    assert p.returncode == 0 and p.stdout.lstrip().lower().startswith("<!doctype html>")
    p = s.cli("email", "preview", "low_stock", "1")
    assert p.returncode == 2 and "not an order" in p.stderr


# --- exports -----------------------------------------------------------------------------------------

def test_orders_export_is_one_csv_line_per_order_item(make_server):
    s = make_server()
    staff = staff_token(s)
    customer = customer_token(s)
    tricky = product(s, staff, name='=HYPERLINK("http://evil"), "quoted"', price="12.50")
    plain = product(s, staff, name="Plain, with comma", price="3.00")
    first = place(s, customer, [{"product_id": tricky["id"], "quantity": 2},
                                {"product_id": plain["id"], "quantity": 1}], expect=201).json()
    assert pay(s, customer, first).status_code == 200
    second = place(s, customer, product_id=plain["id"], quantity=3, expect=201).json()

    rows = read_csv(s.get("/admin/orders/export.csv", token=staff))
    assert rows[0] == ["order_id", "created_at", "status", "payment_status", "fulfilment_status", "customer", "email",
                       "order_total", "refunded_amount", "item_id", "product_id", "product", "unit_price", "quantity",
                       "line_total"]
    lines = rows[1:]
    assert [(int(r[0]), int(r[10]), r[13]) for r in lines] == [
        (first["id"], tricky["id"], "2"), (first["id"], plain["id"], "1"), (second["id"], plain["id"], "3")]
    assert lines[0][2:5] == ["paid", "paid", "not_fulfilled"] and lines[0][7] == "28.00"
    assert lines[0][12] == "12.50" and lines[0][14] == "25.00"
    # A name a spreadsheet would run as a formula opens as text; quotes and commas survive.
    assert lines[0][11] == "'" + tricky["name"]
    assert lines[1][11] == plain["name"]
    assert lines[0][1].endswith("Z")

    paid = read_csv(s.get("/admin/orders/export.csv?status=paid", token=staff))
    assert {int(r[0]) for r in paid[1:]} == {first["id"]}
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(read_csv(s.get(f"/admin/orders/export.csv?from={today}&to={today}", token=staff))) == 4
    assert len(read_csv(s.get("/admin/orders/export.csv?to=2001-01-01", token=staff))) == 1


def test_orders_export_takes_the_lists_search_so_the_download_is_what_staff_see(make_server):
    # The console's Download CSV sent only the status filter: a search for one customer exported
    # every customer's orders.
    s = make_server()
    staff = staff_token(s)
    item = product(s, staff, price="2.00", stock=100)
    _, ann_creds = register(s, username="ann_" + unique(), email=unique("ann.") + "@shop-a.example")
    _, bob_creds = register(s, username="bob_" + unique(), email=unique("bob.") + "@shop-b.example")
    ann = login(s, ann_creds["email"], ann_creds["password"])["access"]
    bob = login(s, bob_creds["email"], bob_creds["password"])["access"]
    ann_orders = [place(s, ann, product_id=item["id"], quantity=1, expect=201).json()["id"] for _ in range(2)]
    bob_order = place(s, bob, product_id=item["id"], quantity=1, expect=201).json()
    assert pay(s, bob, bob_order).status_code == 200
    bob_order = bob_order["id"]

    def exported(query):
        return sorted({int(r[0]) for r in read_csv(s.get(f"/admin/orders/export.csv?{query}", token=staff))[1:]})

    def listed(query):
        return sorted(o["id"] for o in s.get(f"/admin/orders/?{query}", token=staff).json()["results"])

    for query, expected in [("search=ANN_", ann_orders), ("search=shop-b.example", [bob_order]),
                            ("search=_", ann_orders + [bob_order]), ("search=%25", []), ("search=nobody", []),
                            ("search=shop-&status=paid", [bob_order]), ("search=ann_&status=paid", [])]:
        assert exported(query) == expected == listed(query), query


def test_export_inputs_and_callers_are_checked_before_anything_is_sent(server):
    staff = staff_token(server)
    for query, field in [("status=shipped", "status"), ("from=2024-13-01", "from"), ("to=yesterday", "to"),
                         ("from=2024-05-02&to=2024-05-01", "to"), ("from=" + "9" * 4000, "from")]:
        r = server.get(f"/admin/orders/export.csv?{query}", token=staff)
        assert field in assert_error(r, 400, "validation_error")["details"], query
    customer = customer_token(server)
    assert_error(server.get("/admin/orders/export.csv", token=customer), 403, "forbidden")
    assert_error(server.get("/store/products/export.csv", token=customer), 403, "forbidden")
    assert_error(server.get("/admin/orders/export.csv"), 401, "not_authenticated")
    assert_error(server.get("/store/products/export.csv"), 401, "not_authenticated")
    # The product routes keep their ids: export.csv is not one, and a product id still is.
    p = product(server, staff)
    assert server.get(f"/store/products/{p['id']}/", token=customer).json()["name"] == p["name"]


def test_products_export_lists_the_catalogue_on_sale(make_server):
    s = make_server()
    staff = staff_token(s)
    kept = [product(s, staff, price=f"{i}.99", stock=i) for i in range(1, 4)]
    gone = product(s, staff)
    assert s.delete(f"/store/products/{gone['id']}/", token=staff).status_code == 204
    rows = read_csv(s.get("/store/products/export.csv", token=staff))
    assert rows[0] == ["id", "name", "description", "price", "stock"]
    assert rows[1:] == [[str(p["id"]), p["name"], "", p["price"], str(p["stock"])] for p in kept]


def rss_kib(server):
    status = open(f"/proc/{server.proc.pid}/status").read()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


def test_exporting_200000_orders_streams_in_constant_memory(make_server):
    # As test_security.py: no ASan quarantine, so what is measured is the server's own keeping.
    s = make_server(env={"ASAN_OPTIONS": "quarantine_size_mb=0:detect_leaks=1"})
    staff = staff_token(s)
    customer, _ = register(s)
    p = product(s, staff, name="Bulk item", price="1.25", stock=1000)
    user_id = customer["id"]
    n = 200_000
    # Straight into the tables: one statement each, a counter made by a recursive CTE (both dialects).
    s.sql("WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
          " INSERT INTO orders (user_id, status, total_amount, created_at, expires_at, updated_at)"
          " SELECT ?, 'cancelled', 250, 1700000000000000 + i, 1700000000000000, 1700000000000000 + i FROM k",
          (n, user_id))
    s.sql("INSERT INTO order_items (order_id, product_id, product, price, quantity)"
          " SELECT id, ?, 'Bulk item', 125, 2 FROM orders WHERE user_id = ?", (p["id"], user_id))
    # Warm up: one whole export first, so the connections' page caches and the allocator's pools are
    # what they are in a server that has exported before; then measure a second one.
    assert len(read_csv(s.get("/admin/orders/export.csv", token=staff, timeout=300))) == n + 1
    before = rss_kib(s)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(s))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    lines = 0
    try:
        with requests.get(s.base + "/admin/orders/export.csv", headers={"Authorization": f"Bearer {staff}"},
                          stream=True, timeout=300) as r:
            assert r.status_code == 200 and r.headers.get("Transfer-Encoding") == "chunked"
            for chunk in r.iter_content(chunk_size=1 << 16):
                lines += chunk.count(b"\r\n")
    finally:
        done.set()
        sampler.join()
    assert lines == n + 1
    grown = peak[0] - before
    print(f"export of {n} orders: RSS {before} KiB before, peak {peak[0]} KiB (+{grown} KiB)")
    assert grown < 16 * 1024, f"the server grew by {grown} KiB while exporting {n} orders"


# --- sales over time ---------------------------------------------------------------------------------

def test_sales_per_day_count_paid_by_payment_time_in_the_shop_time_zone(make_server):
    s = make_server(env={"ORDERD_SHOP_TIMEZONE": "Pacific/Kiritimati"})  # UTC+14: its day is rarely UTC's
    staff = staff_token(s)
    customer = customer_token(s)
    p = product(s, staff, price="20.00", stock=100)
    paid = place(s, customer, product_id=p["id"], quantity=2, expect=201).json()
    assert pay(s, customer, paid).status_code == 200
    place(s, customer, product_id=p["id"], quantity=1, expect=201)
    cancelled = place(s, customer, product_id=p["id"], quantity=1, expect=201).json()
    assert s.post(f"/store/orders/{cancelled['id']}/cancel/", token=customer).status_code == 200

    r = s.get("/admin/dashboard/sales/?days=7", token=staff)
    assert r.status_code == 200, r.text
    sales = r.json()
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 14 * 3600))
    assert (sales["days"], sales["time_zone"], sales["to"]) == (7, "Pacific/Kiritimati", today)
    assert len(sales["series"]) == 7 and sales["series"][-1]["date"] == today
    assert sales["series"][-1] == {"date": today, "placed": 3, "paid": 1, "revenue": "40.00", "refunded": 0,
                                   "refunded_amount": "0.00", "cancelled": 1}
    assert sales["totals"]["placed"] == 3 and sales["totals"]["revenue"] == "40.00"
    assert sales["top_products"] == [{"product_id": p["id"], "product": p["name"], "units": 2, "revenue": "40.00"}]
    d = s.get("/admin/dashboard/", token=staff).json()
    assert (d["date"], d["time_zone"], d["orders_today"], d["paid_orders_today"], d["revenue_today"]) == (
        today, "Pacific/Kiritimati", 3, 1, "40.00")
    assert len(s.get("/admin/dashboard/sales/", token=staff).json()["series"]) == 30
    assert len(s.get("/admin/dashboard/sales/?days=90", token=staff).json()["series"]) == 90
    for bad in ("8", "0", "-7", "abc", "9" * 1000):
        assert "days" in assert_error(s.get(f"/admin/dashboard/sales/?days={bad}", token=staff), 400,
                                      "validation_error")["details"]
    assert_error(s.get("/admin/dashboard/sales/", token=customer), 403, "forbidden")


def test_paid_today_counts_an_order_paid_today_even_after_staff_cancel_it(make_server):
    s = make_server()
    staff = staff_token(s)
    customer = customer_token(s)
    p = product(s, staff, price="15.00", stock=100)
    old = place(s, customer, product_id=p["id"], quantity=1, expect=201).json()
    assert pay(s, customer, old).status_code == 200
    # Paid two days ago (its payment's settle time), then shipped-or-touched today: not today's.
    two_days_ago = int((time.time() - 2 * 86400) * 1_000_000)
    s.sql("UPDATE payments SET updated_at = ? WHERE order_id = ?", (two_days_ago, old["id"]))
    s.sql("UPDATE orders SET created_at = ? WHERE id = ?", (two_days_ago, old["id"]))
    fresh = place(s, customer, product_id=p["id"], quantity=2, expect=201).json()
    assert pay(s, customer, fresh).status_code == 200
    assert s.post(f"/admin/orders/{fresh['id']}/cancel/", token=staff).status_code == 200
    s.sql("UPDATE orders SET updated_at = ? WHERE id = ?", (int(time.time() * 1_000_000), old["id"]))
    d = s.get("/admin/dashboard/", token=staff).json()
    assert (d["orders_today"], d["paid_orders_today"], d["revenue_today"]) == (1, 1, "30.00")
    sales = s.get("/admin/dashboard/sales/?days=7", token=staff).json()
    assert [day["paid"] for day in sales["series"][-3:]] == [1, 0, 1]
    assert sales["series"][-1]["cancelled"] == 1


def test_an_unknown_time_zone_stops_the_start(tmp_path):
    for zone, words in [("Mars/Olympus_Mons", "unknown time zone"), ("../../etc/passwd", "not an IANA"),
                        ("Europe/Berlin\n", "not an IANA")]:
        env = {"ORDERD_DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite'}", "ORDERD_LISTEN": "127.0.0.1:0",
               "ORDERD_SHOP_TIMEZONE": zone, "PATH": "/usr/bin:/bin"}
        p = subprocess.run([BIN, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and "shop_timezone" in p.stderr.lower() and words in p.stderr, p.stderr
        assert "listening" not in p.stderr


# --- import progress ---------------------------------------------------------------------------------

PEAK_RSS = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(p.returncode)\n")


def import_file(s, path):
    """Runs `orderd product import` in a process of its own; returns (result, its peak RSS in KiB)."""
    env = {**s.env, "ASAN_OPTIONS": "quarantine_size_mb=0:detect_leaks=1"}
    p = subprocess.run(["/usr/bin/python3", "-c", PEAK_RSS, BIN, "product", "import", str(path)], cwd=s.workdir,
                       env=env, capture_output=True, text=True, timeout=600)
    *err, peak = p.stderr.rstrip("\n").split("\n")
    p.stderr = "\n".join(err)
    return p, int(peak)


def csv_of(path, rows, start=0):
    with open(path, "w", newline="") as f:
        f.write("name,description,price,stock\r\n")
        for i in range(start, start + rows):
            f.write(f'Item {i:06d},"A thing, number {i}",{i % 100}.{i % 97:02d},{i % 50}\r\n')
    return path


def json_of(path, rows, start=0):
    """The same products as csv_of, as a JSON array of one object over three lines each."""
    with open(path, "w") as f:
        f.write("[\n")
        for i in range(start, start + rows):
            f.write(f'  {{"name": "Item {i:06d}", "description": "A thing, number {i}",\n'
                    f'   "price": {i % 100}.{i % 97:02d},\n   "stock": {i % 50}}}{"," if i < start + rows - 1 else ""}\n')
        f.write("]\n")
    return path


@pytest.mark.parametrize("of", [csv_of, json_of], ids=["csv", "json"])
def test_a_100000_row_import_runs_in_constant_memory_and_reports_progress(make_server, tmp_path, of):
    s = make_server()
    staff = staff_token(s)
    ext = "csv" if of is csv_of else "json"
    small, small_peak = import_file(s, of(tmp_path / f"small.{ext}", 10_000))
    assert small.returncode == 0, small.stderr
    big, big_peak = import_file(s, of(tmp_path / f"big.{ext}", 100_000, start=10_000))
    assert big.returncode == 0, big.stderr
    assert "100000 created, 0 updated, 0 unchanged" in big.stdout
    assert s.get("/store/products/", token=staff).json()["count"] == 110_000
    # Ten times the rows, the same memory: the file is read a row (record, array element) at a time, twice.
    print(f"import peak RSS: 10,000 rows {small_peak} KiB, 100,000 rows {big_peak} KiB")
    assert big_peak - small_peak < 8 * 1024, (small_peak, big_peak)
    # Not a terminal: plain lines (no carriage returns), and the last one says how long it took.
    assert "\r" not in big.stderr
    assert re.search(r"^done: 100000 rows in \d+", big.stderr, re.M), big.stderr
    for line in big.stderr.splitlines()[:-1]:
        assert re.match(r"^\d+ of 100000 rows \(\d+%\), \d+ rows/s(, about .* left)?$", line), line


def test_a_json_import_with_a_bad_product_deep_in_the_file_names_its_line_and_imports_nothing(make_server, tmp_path):
    s = make_server()
    staff = staff_token(s)
    path = json_of(tmp_path / "bad.json", 5_000)
    text = path.read_text().replace('"name": "Item 004000"', '"name": ""').replace('"stock": 1}', '"stock": -1}', 1)
    path.write_text(text)
    p = s.cli("product", "import", str(path))
    # Product i begins on line 2 + 3i.
    assert p.returncode == 1 and "line 5: stock" in p.stderr and "line 12002: name" in p.stderr, p.stderr
    assert s.get("/store/products/", token=staff).json()["count"] == 0
    path.write_text(text.rstrip().rstrip("]") + ",\n  {\"name\": \"unclosed\n")
    p = s.cli("product", "import", str(path))
    assert p.returncode == 1 and "the file ends inside the array" in p.stderr, p.stderr


def test_an_import_with_a_bad_row_deep_in_the_file_imports_nothing(make_server, tmp_path):
    s = make_server()
    staff = staff_token(s)
    path = csv_of(tmp_path / "bad.csv", 5_000)
    with open(path, "a") as f:
        f.write('Broken,"never closed,1.00,1\r\n')
    p = s.cli("product", "import", str(path))
    assert p.returncode == 1 and "line 5002: a quoted field is never closed" in p.stderr, p.stderr
    assert s.get("/store/products/", token=staff).json()["count"] == 0
