"""Confirmation emails of real paid orders: sent once per paid order over real SMTP with both parts
and every detail, written as .eml files without SMTP, rendered from a shop's own templates,
delayed (never lost, never blocking the payment) by a mail server that is down, not repeated by
restarts, and previewed by the CLI."""
import email
import email.policy
import time

from conftest import DECLINED, customer_token, pay, people_date, place, staff_token, unique, wait_until




def paid_order(server, staff, token, items=(("Fish & Chips", "50.00", 2), ("Café crème", "30.00", 1))):
    lines = []
    for name, price, quantity in items:
        p = server.post("/store/products/", token=staff,
                        json={"name": f"{name} {unique('')}", "price": price, "stock": 100}).json()
        lines.append({"product_id": p["id"], "quantity": quantity})
    order = place(server, token, lines).json()
    r = pay(server, token, order)
    assert r.status_code == 200, r.text
    return order


def test_one_email_per_paid_order_with_every_detail(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_MAIL_FROM": "Shop <shop@example.com>",
                         "ORDERD_SHOP_NAME": "Corner Shop"})
    staff, token = staff_token(s), customer_token(s)
    me = s.get("/user/", token=token).json()
    order = paid_order(s, staff, token)
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == [me["email"]] and mail.mail_from == "shop@example.com"
    assert mail.header("Subject") == f"Your Corner Shop order #{order['id']} is confirmed"
    assert [p.get_content_type() for p in mail.message.iter_parts()] == ["text/plain", "text/html"]
    text, html = mail.body("plain"), mail.body("html")
    # Money and dates as people read them: the currency's form (USD by default), a written date.
    for item in order["items"]:
        assert item["product"] in text
        assert f"{item['quantity']} x ${item['price']} = ${item['totalprice']}" in text
        assert f"${item['price']}" in html and f"${item['totalprice']}" in html
    assert "Total: $130.00" in text and "$130.00" in html
    assert f"#{order['id']}" in html and people_date(order["created_at"]) in text
    assert "Fish &amp; Chips" in html  # values are escaped in HTML
    # Unpaid and declined orders get no mail.
    p = s.post("/store/products/", token=staff, json={"name": unique("x"), "price": 1, "stock": 5}).json()
    unpaid = place(s, token, product_id=p["id"]).json()
    pay(s, token, unpaid, number=DECLINED)
    second = paid_order(s, staff, token, items=(("Tea", "2.50", 1),))
    mails = smtp_sink.wait_for(2)
    assert [m.header("Subject").split("#")[1].split()[0] for m in mails] == [str(order["id"]), str(second["id"])]


def test_without_smtp_the_email_is_an_eml_file(make_server):
    s = make_server()
    staff, token = staff_token(s), customer_token(s)
    order = paid_order(s, staff, token)
    [path] = wait_until(lambda: list((s.workdir / "mail").glob("*.eml")))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == f"Your orderd shop order #{order['id']} is confirmed"
    assert message["To"] == s.get("/user/", token=token).json()["email"]
    assert message["MIME-Version"] == "1.0" and message["Date"] and message["Message-ID"]
    assert "Total: $130.00" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_shops_own_templates(make_server, smtp_sink, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "order_confirmation.subject.mustache").write_text("Thanks {{customer}}: {{total_amount}} paid")
    (templates / "order_confirmation.txt.mustache").write_text(
        "{{shop_name}} #{{order_id}}\n{{#items}}- {{product}} {{quantity}}@{{price}}={{totalprice}}\n{{/items}}")
    (templates / "order_confirmation.html.mustache").write_text(
        "<p>Dear {{customer}}, order {{order_id}} of {{created_at}}: {{#items}}<b>{{product}}</b>{{/items}}"
        " total {{total_amount}} ({{email}})</p>")
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_TEMPLATE_DIR": str(templates)})
    staff, token = staff_token(s), customer_token(s)
    order = paid_order(s, staff, token, items=(("Soap <lavender>", "3.20", 2),))
    [mail] = smtp_sink.wait_for(1)
    me = s.get("/user/", token=token).json()
    assert mail.header("Subject") == f"Thanks {me['username']}: 6.40 paid"
    # text: not escaped; its lines end in CRLF, as MIME asks of a text before base64 (RFC 2045)
    assert mail.body("plain").startswith(f"orderd shop #{order['id']}\r\n- Soap <lavender>")
    assert "<b>Soap &lt;lavender&gt;" in mail.body("html")  # HTML: escaped
    assert "2@3.20=6.40" in mail.body("plain")
    html = mail.body("html")
    assert html.startswith(f"<p>Dear {me['username']}, order {order['id']} of {order['created_at']}: <b>Soap")
    assert f"total 6.40 ({me['email']})</p>" in html


def test_a_dead_mail_server_never_fails_or_delays_a_payment(make_server, smtp_sink):
    smtp_sink.stop()
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_MAIL_RETRY_CAP": "1s"})
    staff, token = staff_token(s), customer_token(s)
    started = time.monotonic()
    order = paid_order(s, staff, token)
    assert time.monotonic() - started < 5  # the payment does not wait for mail
    assert s.get(f"/store/orders/{order['id']}/", token=token).json()["status"] == "paid"
    wait_until(lambda: "orderd_email_send_errors_total" in s.get("/metrics").text
               and 'orderd_email_send_errors_total 0' not in s.get("/metrics").text)
    smtp_sink.start()
    [mail] = smtp_sink.wait_for(1, timeout=20)
    assert f"#{order['id']}" in mail.header("Subject")


def test_restarts_do_not_send_twice(make_server, smtp_sink):
    s = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url})
    staff, token = staff_token(s), customer_token(s)
    orders = [paid_order(s, staff, token, items=(("Pen", "1.00", 1),)) for _ in range(3)]
    smtp_sink.wait_for(3)
    for _ in range(2):
        assert s.stop() == 0
        s.start()
    orders.append(paid_order(s, staff, token, items=(("Ink", "2.00", 1),)))
    mails = smtp_sink.wait_for(4)
    # The server has the 4th mail; the worker marks its row sent just after (poll, not a race).
    wait_until(lambda: s.get("/admin/emails/", token=staff, params={"status": "sent"}).json()["count"] == 4)
    staff_view = s.get("/admin/emails/", token=staff, params={"page_size": 100}).json()
    # Each row was claimed once (a second send needs a second claim, which counts an attempt).
    assert staff_view["count"] == 4
    assert all(e["status"] == "sent" and e["attempts"] == 1 for e in staff_view["results"]), staff_view
    assert len(smtp_sink.received()) == 4
    assert sorted(m.header("Subject") for m in mails) == sorted(
        f"Your orderd shop order #{o['id']} is confirmed" for o in orders)


def test_email_preview_renders_without_sending(make_server):
    s = make_server()
    staff, token = staff_token(s), customer_token(s)
    order = paid_order(s, staff, token)
    p = s.cli("email", "preview", str(order["id"]))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"Subject: Your orderd shop order #{order['id']} is confirmed\n")
    assert "Total: $130.00" in p.stdout
    p = s.cli("email", "preview", str(order["id"]), "--html")
    assert p.returncode == 0 and "<html" in p.stdout.lower() and "Fish &amp; Chips" in p.stdout
    p = s.cli("email", "preview", "99999999")
    assert p.returncode == 1 and "not found" in p.stderr.lower()
