"""Confirmation emails: start-up checks of the templates, delivery through the outbox to a real SMTP
server or to .eml files, retries while the mail server is down, and the staff routes.

Paid orders are not part of this module, so the tests queue an email the way the payment settle
does: one row in the outbox table, written straight into the server's SQLite database."""
import email
import email.policy
import json
import subprocess
import time

from conftest import BIN, assert_error, customer_token, staff_token, wait_until

CONTEXT = {
    "order_id": 42,
    "created_at": "2024-05-04T12:00:00.123456Z",
    "customer": "example_user",
    "email": "buyer@example.com",
    "total_amount": "130.00",
    "items": [
        {"product": "Fish & Chips", "price": "50.00", "quantity": 2, "totalprice": "100.00"},
        {"product": "Café crème", "price": "30.00", "quantity": 1, "totalprice": "30.00"},
    ],
}


def queue_confirmation(server, order_id, recipient="buyer@example.com"):
    """What notify::enqueue_order_confirmation writes, inside the settle transaction."""
    now = time.time_ns() // 1000
    [(row_id,)] = server.sql(
        "INSERT INTO outbox (kind, order_id, recipient, payload, status, attempts, next_attempt_at, created_at)"
        " VALUES ('order_confirmation', ?, ?, ?, 'pending', 0, ?, ?) RETURNING id",
        (order_id, recipient, json.dumps({**CONTEXT, "order_id": order_id}), now, now))
    return row_id




def emails(server, token, **params):
    r = server.get("/admin/emails/", token=token, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def email_row(server, token, row_id):
    return next((e for e in emails(server, token, page_size=100)["results"] if e["id"] == row_id), None)


def test_serve_refuses_a_broken_template_naming_the_file(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    broken = templates / "order_confirmation.html.mustache"
    broken.write_text("<ul>{{#items}}<li>{{product}}</li></ul>")
    env = {"ORDERD_DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite'}", "ORDERD_LISTEN": "127.0.0.1:0",
           "ORDERD_TEMPLATE_DIR": str(templates), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([BIN, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert str(broken) in p.stderr and "Unclosed section" in p.stderr
    assert "listening" not in p.stderr

    broken.unlink()
    (templates / "order_confirmation.txt.mustache").write_text("Total: {{totl_amount}}\n")
    p = subprocess.run([BIN, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "order_confirmation.txt.mustache" in p.stderr and "{{totl_amount}}" in p.stderr


def test_email_routes_are_for_staff_only(make_server):
    server = make_server()
    assert_error(server.get("/admin/emails/"), 401, "not_authenticated")
    assert_error(server.get("/admin/emails/", token=customer_token(server)), 403, "forbidden")
    assert_error(server.post("/admin/emails/1/resend/", token=customer_token(server)), 403, "forbidden")
    r = server.get("/admin/emails/", token=staff_token(server))
    assert r.status_code == 200, r.text
    assert r.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_a_queued_confirmation_reaches_the_smtp_server(make_server, smtp_sink):
    # The sender's name has a comma and a dot: unquoted, mail readers saw two senders, "Test Shop" and
    # "Inc. <shop@example.com>".
    server = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_MAIL_FROM": "Test Shop, Inc. <shop@example.com>",
                              "ORDERD_SHOP_NAME": "Test & Shop"})
    row_id = queue_confirmation(server, 42)
    [mail] = smtp_sink.wait_for(1)
    assert mail.mail_from == "shop@example.com" and mail.rcpt_tos == ["buyer@example.com"]
    [sender] = mail.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Test Shop, Inc.", "shop@example.com")
    assert mail.header("Subject") == "Your Test & Shop order #42 is confirmed"
    assert mail.header("To") == "buyer@example.com"
    assert mail.header("Message-ID").startswith(f"<orderd.outbox.{row_id}.")
    assert mail.message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.message.iter_parts()] == ["text/plain", "text/html"]
    text, html = mail.body("plain"), mail.body("html")
    assert "Fish & Chips" in text and "2 x $50.00 = $100.00" in text and "Total: $130.00" in text
    assert "Fish &amp; Chips" in html and "Café crème" in html and "$130.00" in html and "#42" in html
    assert "4 May 2024, 12:00 UTC" in text and "4 May 2024, 12:00 UTC" in html

    staff = staff_token(server)
    row = wait_until(lambda: (e := email_row(server, staff, row_id)) and e["status"] == "sent" and e)
    assert row["kind"] == "order_confirmation" and row["order_id"] == 42 and row["attempts"] == 1
    assert row["recipient"] == "buyer@example.com" and row["sent_at"].endswith("Z")


def test_mail_waits_for_a_mail_server_that_is_down(make_server, smtp_sink):
    smtp_sink.stop()
    server = make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_MAIL_RETRY_CAP": "2s"})
    staff = staff_token(server)
    row_id = queue_confirmation(server, 7)
    row = wait_until(lambda: (e := email_row(server, staff, row_id)) and e["attempts"] >= 1
                     and e["status"] == "pending" and e)
    assert row["last_error"] and "smtp://127.0.0.1" in row["last_error"]
    assert emails(server, staff, status="pending")["count"] == 1
    metrics = server.get("/metrics").text
    assert "orderd_email_send_errors_total" in metrics and "orderd_email_queue_depth 1" in metrics

    smtp_sink.start()  # the same port: the server comes back
    [mail] = smtp_sink.wait_for(1, timeout=20)
    assert mail.header("Subject").endswith("order #7 is confirmed")
    wait_until(lambda: email_row(server, staff, row_id)["status"] == "sent")
    assert "orderd_emails_sent_total 1" in server.get("/metrics").text


def test_without_smtp_each_message_is_an_eml_file(make_server):
    server = make_server()
    row_id = queue_confirmation(server, 9)
    mail_dir = server.workdir / "mail"
    [path] = wait_until(lambda: list(mail_dir.glob("*.eml")))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Message-ID"].startswith(f"<orderd.outbox.{row_id}.")
    assert message["Subject"] == "Your orderd shop order #9 is confirmed"
    assert message.get_content_type() == "multipart/alternative"
    assert "Total: $130.00" in message.get_body(preferencelist=("plain",)).get_content()
    assert "Café crème" in message.get_body(preferencelist=("html",)).get_content()
    assert not [p for p in mail_dir.iterdir() if p.suffix != ".eml"]  # no temporary files left


def test_staff_page_through_emails_and_resend_one(make_server):
    server = make_server(env={"ORDERD_PUBLIC_URL": "https://shop.example/api/"})
    staff = staff_token(server)
    ids = [queue_confirmation(server, order) for order in range(1, 13)]
    wait_until(lambda: emails(server, staff, status="sent")["count"] == 12)

    first = emails(server, staff, status="sent", page_size=5)
    assert first["count"] == 12 and len(first["results"]) == 5
    assert first["results"][0]["id"] == ids[-1]  # newest first
    assert first["previous"] is None
    assert first["next"] == "https://shop.example/api/admin/emails/?status=sent&page_size=5&page=2"
    second = server.get(first["next"].replace("https://shop.example/api", ""), token=staff).json()
    assert [e["id"] for e in second["results"]] == ids[-6:-11:-1]
    last = emails(server, staff, status="sent", page_size=5, page=3)
    assert len(last["results"]) == 2 and last["next"] is None
    assert last["previous"] == "https://shop.example/api/admin/emails/?status=sent&page_size=5&page=2"
    assert_error(server.get("/admin/emails/", token=staff, params={"page": 4, "page_size": 5}), 404, "not_found")
    assert_error(server.get("/admin/emails/", token=staff, params={"page": "x"}), 404, "not_found")
    assert_error(server.get("/admin/emails/", token=staff, params={"status": "lost"}), 400, "validation_error")
    assert len(emails(server, staff, page_size=1000)["results"]) == 12  # capped at 100, not refused

    r = server.post(f"/admin/emails/{ids[0]}/resend/", token=staff)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == ids[0] and r.json()["status"] in ("pending", "sending", "sent")
    wait_until(lambda: (e := email_row(server, staff, ids[0]))["status"] == "sent" and e["attempts"] == 1)
    assert_error(server.post("/admin/emails/999999/resend/", token=staff), 404, "not_found")
