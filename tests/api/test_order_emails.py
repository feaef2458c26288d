"""The emails of #18 on the real binary and a real SMTP server, on SQLite and (ORDERD_TEST_DB=postgres)
PostgreSQL: a customer's and staff's cancel of an unpaid order and the sweeper's expiry each send the
customer one email, queued in the transaction that moves the order (a rollback queues none); money is
shown in the `currency` setting's form, which also reaches the gateway; `orderd email preview` and the
staff preview render every kind."""
import pathlib
import re
import subprocess

import pytest

from conftest import BIN, assert_error, customer_token, pay, people_date, place, staff_token, unique, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
KINDS = ["order_confirmation", "order_shipped", "refund_issued", "order_cancelled", "order_expired"]


def product(server, staff, price="50.00", stock=10):
    r = server.post("/store/products/", token=staff, json={"name": unique("Lamp"), "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def outbox_rows(server, order_id):
    return server.sql("SELECT kind, ref, recipient FROM outbox WHERE order_id = ? ORDER BY id", (order_id,))


def test_a_customer_cancelling_an_unpaid_order_is_told_so(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_SHOP_NAME": "Corner Shop"})
    staff, token = staff_token(s), customer_token(s)
    me = s.get("/user/", token=token).json()
    p = product(s, staff)
    order = place(s, token, product_id=p["id"], quantity=2).json()
    r = s.post(f"/store/orders/{order['id']}/cancel/", token=token)
    assert r.status_code == 200, r.text
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == [me["email"]]
    assert mail.header("Subject") == f"Your Corner Shop order #{order['id']} is cancelled"
    text, html = mail.body("plain"), mail.body("html")
    assert f"as you asked, we have cancelled your order #{order['id']}. Nothing was charged." in text
    assert f"2 x $50.00 = $100.00" in text and "Total: $100.00" in text and "$100.00" in html
    assert people_date(order["created_at"]) in text
    # A second cancel is refused and queues nothing more.
    assert_error(s.post(f"/store/orders/{order['id']}/cancel/", token=token), 409, "order_not_payable")
    assert outbox_rows(s, order["id"]) == [("order_cancelled", 0, me["email"])]


def test_staff_cancelling_an_unpaid_order_uses_the_staff_wording(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url})
    staff, token = staff_token(s), customer_token(s)
    order = place(s, token, product_id=product(s, staff)["id"]).json()
    r = s.post(f"/admin/orders/{order['id']}/cancel/", token=staff)
    assert r.status_code == 200, r.text
    [mail] = smtp_sink.wait_for(1)
    text = mail.body("plain")
    assert f"we have cancelled your order #{order['id']}. It was not paid, so nothing was charged." in text
    assert "as you asked" not in text
    row = s.get("/admin/emails/", token=staff).json()["results"][0]
    assert row["kind"] == "order_cancelled" and row["order_id"] == order["id"]
    preview = s.get(f"/admin/emails/{row['id']}/preview/", token=staff)
    assert preview.status_code == 200, preview.text
    assert preview.json()["subject"] == mail.header("Subject") and "It was not paid" in preview.json()["text"]


def staff_cancel_emails(server, smtp_sink, staff, token, number="4242424242424242", refund_first=False):
    """Pays an order, optionally refunds all of it, has staff cancel it once its emails are out; returns
    the cancel's answer, the order, its order_cancelled message and the kinds of its outbox rows."""
    order = place(server, token, product_id=product(server, staff)["id"]).json()
    assert pay(server, token, order, number=number).status_code == 200
    expected = 1
    if refund_first:
        r = server.post(f"/admin/orders/{order['id']}/refunds/", token=staff, json={"amount": "50.00", "reason": "Broken"},
                        headers={"Idempotency-Key": unique("refund-")})
        assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
        expected += 1
    cancel = server.post(f"/admin/orders/{order['id']}/cancel/", token=staff)
    assert cancel.status_code == 200, cancel.text
    expected += 1 + ((cancel.json()["refund"] or {}).get("status") == "succeeded")
    kinds = [kind for kind, _, _ in outbox_rows(server, order["id"])]
    assert len(kinds) == expected, kinds
    def mails():
        return [m for m in smtp_sink.received() if re.search(rf"#{order['id']}\b", m.header("Subject"))]

    wait_until(lambda: len(mails()) == expected, what="the order's emails")
    [cancelled] = [m for m in mails() if "is cancelled" in m.header("Subject")]
    return cancel.json(), order, cancelled, kinds


def test_staff_cancel_of_a_paid_order_promises_a_refund_only_once_made_and_never_a_false_one(make_server, smtp_sink):
    """The cancel's email is queued in the cancel's transaction, before the gateway answers the refund:
    it says the refund is on its way; the refund_issued email says it was made. A refused refund must
    not be reported as made, and an order refunded in full earlier was paid, not "not paid"."""
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url})
    staff, token = staff_token(s), customer_token(s)

    cancel, order, mail, kinds = staff_cancel_emails(s, smtp_sink, staff, token)
    assert cancel["refund"]["status"] == "succeeded" and kinds.count("refund_issued") == 1
    assert mail.header("Subject").endswith(f"order #{order['id']} is cancelled: $50.00 to be refunded")
    assert f"we have cancelled your order #{order['id']} and are refunding $50.00" in mail.body("plain")

    cancel, order, mail, kinds = staff_cancel_emails(s, smtp_sink, staff, token, number="4000000000005126")
    assert cancel["refund"]["status"] == "failed" and "refund_issued" not in kinds
    for part in (mail.header("Subject"), mail.body("plain"), mail.body("html")):
        assert "refunded $50.00" not in part and "$50.00 refunded" not in part, part

    cancel, order, mail, kinds = staff_cancel_emails(s, smtp_sink, staff, token, refund_first=True)
    assert cancel["refund"] is None and kinds.count("refund_issued") == 1
    text = mail.body("plain")
    assert "It was not paid" not in text and "has already been refunded" in text, text
    assert mail.header("Subject").endswith(f"order #{order['id']} is cancelled")


def test_an_expired_order_is_told_so_once(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_RESERVATION_TTL": "1s",
                         "ORDERD_SWEEP_INTERVAL": "100ms"})
    staff, token = staff_token(s), customer_token(s)
    order = place(s, token, product_id=product(s, staff)["id"]).json()
    [mail] = smtp_sink.wait_for(1)
    assert mail.header("Subject") == f"Your orderd shop order #{order['id']} has expired"
    assert "was not paid in time" in mail.body("plain")
    assert s.get(f"/store/orders/{order['id']}/", token=token).json()["status"] == "expired"
    wait_until(lambda: s.get("/admin/emails/", token=staff, params={"status": "sent"}).json()["count"] == 1)
    assert [k for (k, _, _) in outbox_rows(s, order["id"])] == ["order_expired"]


def test_a_paid_order_is_not_cancelled_and_gets_only_its_confirmation(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url})
    staff, token = staff_token(s), customer_token(s)
    order = place(s, token, product_id=product(s, staff)["id"]).json()
    assert pay(s, token, order).status_code == 200
    assert_error(s.post(f"/store/orders/{order['id']}/cancel/", token=token), 409, "order_not_payable")
    other = customer_token(s)
    assert_error(s.post(f"/store/orders/{order['id']}/cancel/", token=other), 404, "not_found")
    smtp_sink.wait_for(1)
    assert [k for (k, _, _) in outbox_rows(s, order["id"])] == ["order_confirmation"]


def refuse_cancel_emails(server):
    """Makes the outbox refuse order_cancelled rows, so the cancel's transaction fails at its last step."""
    if server.on_postgres:
        server.sql("CREATE FUNCTION refuse_email() RETURNS trigger LANGUAGE plpgsql AS"
                   " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$")
        server.sql("CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW"
                   " WHEN (NEW.kind = 'order_cancelled') EXECUTE FUNCTION refuse_email()")
    else:
        server.sql("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.kind = 'order_cancelled'"
                   " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")


def test_a_cancel_whose_transaction_rolls_back_queues_no_email_and_moves_no_stock(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url})
    staff, token = staff_token(s), customer_token(s)
    p = product(s, staff, stock=5)
    order = place(s, token, product_id=p["id"], quantity=2).json()
    refuse_cancel_emails(s)
    r = s.post(f"/store/orders/{order['id']}/cancel/", token=token)
    assert r.status_code != 200, r.text  # the database refused the email: nothing of the cancel stays
    assert s.get(f"/store/orders/{order['id']}/", token=token).json()["status"] == "pending_payment"
    assert s.get(f"/store/products/{p['id']}/", token=token).json()["stock"] == 3
    assert outbox_rows(s, order["id"]) == []
    s.sql("DROP TRIGGER refuse" + (" ON outbox" if s.on_postgres else ""))
    assert s.post(f"/store/orders/{order['id']}/cancel/", token=token).status_code == 200
    [mail] = smtp_sink.wait_for(1)
    assert "is cancelled" in mail.header("Subject")
    assert s.get(f"/store/products/{p['id']}/", token=token).json()["stock"] == 5


def test_money_is_shown_in_the_shops_currency_and_sent_to_the_gateway(make_server, smtp_sink, mock_gateway):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_CURRENCY": "eur",
                         "ORDERD_PAYMENT_GATEWAY": mock_gateway.url})
    staff, token = staff_token(s), customer_token(s)
    order = place(s, token, product_id=product(s, staff, price="1234.50")["id"]).json()
    assert pay(s, token, order).status_code == 200, order
    [mail] = smtp_sink.wait_for(1)
    assert "Total: 1.234,50 €" in mail.body("plain") and "1.234,50 €" in mail.body("html")
    [(key,)] = s.sql("SELECT idempotency_key FROM payments WHERE order_id = ?", (order["id"],))
    charge = mock_gateway.find(key).json()
    assert charge["currency"] == "eur" and charge["amount"] == 123450


def test_a_zero_decimal_currency_charges_whole_units(make_server, smtp_sink, mock_gateway):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_CURRENCY": "JPY",
                         "ORDERD_PAYMENT_GATEWAY": mock_gateway.url})
    staff, token = staff_token(s), customer_token(s)
    order = place(s, token, product_id=product(s, staff, price="1300")["id"]).json()
    assert pay(s, token, order).status_code == 200
    [(key,)] = s.sql("SELECT idempotency_key FROM payments WHERE order_id = ?", (order["id"],))
    charge = mock_gateway.find(key).json()
    assert charge["currency"] == "jpy" and charge["amount"] == 1300
    assert "Total: ¥1,300" in smtp_sink.wait_for(1)[0].body("plain")
    # A refund goes in the same units as the charge: 300 yen, not 30000 hundredths.
    r = s.post(f"/admin/orders/{order['id']}/refunds/", token=staff, headers={"Idempotency-Key": "jpy-refund"},
               json={"amount": "300", "reason": "Scratched"})
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    [(refund_key,)] = s.sql("SELECT idempotency_key FROM refunds WHERE order_id = ?", (order["id"],))
    refund = mock_gateway.http.get(mock_gateway.url + "/v1/refunds/" + refund_key, timeout=10).json()
    assert refund["currency"] == "jpy" and refund["amount"] == 300, refund
    r = s.post(f"/admin/orders/{order['id']}/refunds/", token=staff, headers={"Idempotency-Key": "jpy-odd"},
               json={"amount": "0.50", "reason": "Half a yen"})
    assert_error(r, 400, "validation_error")
    assert "amount" in r.json()["details"]
    # A return's refund is its `refund` field, and is refused under that name.
    r = s.post(f"/admin/orders/{order['id']}/fulfilments/", token=staff, json={"carrier": "Yamato"})
    assert r.status_code == 201, r.text
    item = {"product_id": order["items"][0]["product_id"], "quantity": 1, "restock": True}
    r = s.post(f"/admin/orders/{order['id']}/returns/", token=staff,
               json={"items": [item], "reason": "Scratched", "refund": "0.50"})
    assert_error(r, 400, "validation_error")
    assert r.json()["details"] == {"refund": ["Must be a whole amount of JPY."]}, r.text

    # A fraction of a yen cannot be charged, so no product is priced with one: created, replaced,
    # patched or imported.
    for field in ("10.50", "0.01"):
        r = s.post("/store/products/", token=staff, json={"name": unique("Odd"), "price": field, "stock": 1})
        assert_error(r, 400, "validation_error")
        assert r.json()["details"] == {"price": ["Must be a whole amount of JPY."]}, r.text
    whole = product(s, staff, price="1000")
    r = s.patch(f"/store/products/{whole['id']}/", token=staff, json={"price": "999.99"})
    assert_error(r, 400, "validation_error")
    assert "price" in r.json()["details"]
    r = s.put(f"/store/products/{whole['id']}/", token=staff, json={"name": "Whole", "price": "999.5", "stock": 1})
    assert_error(r, 400, "validation_error")
    assert s.get(f"/store/products/{whole['id']}/", token=staff).json()["price"] == "1000.00"
    (s.workdir / "odd.csv").write_text("name,description,price,stock\nFine,,1200,1\nOdd,,12.50,1\n")
    p = s.cli("product", "import", str(s.workdir / "odd.csv"))
    assert p.returncode == 1 and "line 3: price: Must be a whole amount of JPY." in p.stderr, p.stderr
    # The demo products are priced in whole yen too.
    assert s.cli("demo-data").returncode == 0
    prices = [row[0] for row in s.sql("SELECT price FROM products")]
    assert len(prices) > 8 and all(price % 100 == 0 for price in prices), prices
    # One priced so before this rule (written straight to the database) is refused at payment,
    # before the gateway is asked.
    s.sql("UPDATE products SET price = 1050 WHERE id = ?", (whole["id"],))
    odd = place(s, token, product_id=whole["id"]).json()
    r = pay(s, token, odd)
    assert_error(r, 400, "validation_error")
    assert "amount" in r.json()["details"]


def test_an_unknown_currency_stops_the_start(tmp_path):
    env = {"ORDERD_DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite'}", "ORDERD_LISTEN": "127.0.0.1:0",
           "ORDERD_CURRENCY": "DOGE", "PATH": "/usr/bin:/bin"}
    p = subprocess.run([BIN, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "ORDERD_CURRENCY" in p.stderr and "DOGE" in p.stderr
    assert "unknown currency" in p.stderr and "EUR" in p.stderr and "listening" not in p.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_preview_renders_every_kind(make_server, kind):
    s = make_server()
    p = s.cli("email", "preview", kind)
    assert p.returncode == 0, p.stderr
    subject, _, text = p.stdout.partition("\n\n")
    assert subject.startswith("Subject: ") and "#42" in subject and "{{" not in p.stdout
    assert "example_user" in text and ("$" in text or kind == "order_shipped")  # a parcel has no price
    p = s.cli("email", "preview", kind, "--html")
    assert p.returncode == 0 and p.stdout.lstrip().lower().startswith("<!doctype html>"), p.stderr


def test_preview_of_each_cancel_wording_and_of_an_orders_queued_email(make_server):
    s = make_server()
    wordings = {"customer": "as you asked", "staff": "It was not paid", "refunded": "are refunding $130.00",
                "refunded_earlier": "has already been refunded"}
    for variant, words in wordings.items():
        p = s.cli("email", "preview", "order_cancelled", "--variant", variant, "--text")
        assert p.returncode == 0 and words in p.stdout, (variant, p.stdout, p.stderr)
    p = s.cli("email", "preview", "order_cancelled", "--variant", "nobody")
    assert p.returncode == 2 and "customer, staff, refunded, refunded_earlier" in p.stderr
    p = s.cli("email", "preview", "order_teleported")
    assert p.returncode == 2 and "order_shipped" in p.stderr  # a bad value on the command line

    staff, token = staff_token(s), customer_token(s)
    order = place(s, token, product_id=product(s, staff)["id"]).json()
    p = s.cli("email", "preview", "order_cancelled", str(order["id"]))
    assert p.returncode == 1 and "not found" in p.stderr.lower()
    assert s.post(f"/store/orders/{order['id']}/cancel/", token=token).status_code == 200
    p = s.cli("email", "preview", "order_cancelled", str(order["id"]))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"Subject: Your orderd shop order #{order['id']} is cancelled\n")
    p = s.cli("email", "preview", "order_confirmation", str(order["id"]))
    assert p.returncode == 0 and f"#{order['id']}" in p.stdout


def test_migration_010_keeps_every_outbox_row_and_its_id(make_server, smtp_sink):
    """An outbox from before 010 (005's table, one email per kind and order) is rebuilt (SQLite) or
    altered (PostgreSQL) with its rows, ids and states; a row still pending is then sent."""
    # The rows below were made at the epoch's first microseconds: mail_keep must not forget them.
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_MAIL_KEEP": "36500d"})
    assert s.stop() == 0
    dialect = "postgres" if s.on_postgres else "sqlite"
    s.sql("DROP TABLE outbox")
    old_schema = (ROOT / f"src/db/migrations/{dialect}/005_outbox.sql").read_text()
    for statement in re.sub(r"--[^\n]*", "", old_schema).split(";"):  # comments may hold a ';'
        if statement.strip():
            s.sql(statement)
    s.sql("DELETE FROM schema_migrations WHERE version IN (10, 19)")  # nor had it 019, an index of the outbox
    context = '{"order_id": 6, "created_at": "2024-05-04T12:00:00Z", "customer": "c", "email": "b@example.com",' \
              ' "total_amount": "1.00", "items": []}'
    s.sql("INSERT INTO outbox (id, kind, order_id, recipient, payload, status, attempts, next_attempt_at, created_at,"
          " sent_at) VALUES (77, 'order_confirmation', 5, 'a@example.com', '{}', 'sent', 2, 1, 1, 3),"
          " (78, 'order_confirmation', 6, 'b@example.com', ?, 'pending', 0, 1, 2, NULL)", (context,))
    s.start()
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ["b@example.com"] and mail.header("Message-ID").startswith("<orderd.outbox.78.2@")
    rows = wait_until(lambda: (r := s.sql("SELECT id, kind, order_id, ref, status, attempts FROM outbox ORDER BY id"))
                      and r[1][4] == "sent" and r)
    assert rows == [(77, "order_confirmation", 5, 0, "sent", 2), (78, "order_confirmation", 6, 0, "sent", 1)]
    # The new key: another email of a kind for the same order is a new row, the same one is refused.
    s.sql("INSERT INTO outbox (kind, order_id, ref, recipient, payload, next_attempt_at, created_at)"
          " VALUES ('order_shipped', 5, 1, 'a@example.com', '{}', 9999999999999999, 4)")
    with pytest.raises(Exception):
        s.sql("INSERT INTO outbox (kind, order_id, ref, recipient, payload, next_attempt_at, created_at)"
              " VALUES ('order_shipped', 5, 1, 'a@example.com', '{}', 9999999999999999, 5)")


def shipped_mails(sink, count):
    """Waits for `count` order_shipped emails (the confirmation arrives too) and returns them in order."""
    wait_until(lambda: len([m for m in sink.received() if "is on its way" in m.header("Subject")]) >= count,
               what=f"{count} shipped emails")
    return [m for m in sink.received() if "is on its way" in m.header("Subject")]


def test_every_shipment_sends_one_shipped_email_with_its_carrier_tracking_and_items(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_SHOP_NAME": "Corner Shop"})
    staff, token = staff_token(s), customer_token(s)
    me = s.get("/user/", token=token).json()
    lamp, shade = product(s, staff), product(s, staff, price="9.00")
    order = place(s, token, [{"product_id": lamp["id"], "quantity": 3}, {"product_id": shade["id"], "quantity": 1}],
                  expect=201).json()
    assert pay(s, token, order).status_code == 200
    url = f"/admin/orders/{order['id']}/fulfilments/"
    key = {"Idempotency-Key": unique("ship")}
    first = {"carrier": "DHL", "tracking_number": "JD0001", "tracking_url": "https://www.dhl.com/track?id=JD0001",
             "items": [{"product_id": lamp["id"], "quantity": 2}]}
    r = s.post(url, token=staff, json=first, headers=key)
    assert r.status_code == 201, r.text
    # The same shipment asked again with its key is the same shipment: no second email.
    assert s.post(url, token=staff, json=first, headers=key).json()["id"] == r.json()["id"]
    [mail] = shipped_mails(smtp_sink, 1)
    assert mail.rcpt_tos == [me["email"]]
    assert mail.header("Subject") == f"Your Corner Shop order #{order['id']} is on its way"
    text, html = mail.body("plain"), mail.body("html")
    assert "has been shipped with DHL" in text and "Tracking number: JD0001" in text
    assert "Track your parcel: https://www.dhl.com/track?id=JD0001" in text
    assert f"- {lamp['name']} x 2" in text and shade["name"] not in text
    assert 'href="https://www.dhl.com/track?id=JD0001"' in html and lamp["name"] in html
    assert people_date(r.json()["shipped_at"]) in text

    # The rest (no items: everything not yet shipped) goes with another carrier: a second email.
    second = s.post(url, token=staff, json={"carrier": "UPS", "tracking_number": "1Z999"})
    assert second.status_code == 201, second.text
    mails = shipped_mails(smtp_sink, 2)
    assert len(mails) == 2
    text = mails[1].body("plain")
    assert "has been shipped with UPS" in text and "Tracking number: 1Z999" in text
    assert "Track your parcel" not in text  # no tracking_url given: no link
    assert f"- {lamp['name']} x 1" in text and f"- {shade['name']} x 1" in text
    shipped = [(k, ref) for (k, ref, _) in outbox_rows(s, order["id"]) if k == "order_shipped"]
    assert shipped == [("order_shipped", r.json()["id"]), ("order_shipped", second.json()["id"])]
    # Shipping more than was ordered is refused and sends nothing.
    more = {"carrier": "DHL", "items": [{"product_id": lamp["id"], "quantity": 1}]}
    assert_error(s.post(url, token=staff, json=more), 409, "fulfilment_exceeds_order")
    wait_until(lambda: s.get("/admin/emails/", token=staff, params={"status": "sent"}).json()["count"] == 3)
    assert len(shipped_mails(smtp_sink, 2)) == 2
