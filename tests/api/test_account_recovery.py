"""Accounts people can recover (issue #20): password reset by email, password change, verified email
addresses. Black-box, on SQLite and (ORDERD_TEST_DB=postgres) PostgreSQL: the link is read from the
email the real SMTP sink received, tokens are single use, expire, die with a password change and are
stored only as a hash; resets and changes end sessions; the reset request tells nobody whether an
account exists; throttles hold; require_verified_email guards place_order."""
import concurrent.futures
import contextlib
import hashlib
import random
import re
import sqlite3
import statistics
import subprocess
import threading
import time

import pytest

from conftest import (BIN, Server, assert_error, customer_token, fresh_database_url, login, place, postgres_only,
                      register, staff_token, unique, wait_until)

NEW_PASSWORD = "a-brand-new-secret-7"
LINK = re.compile(r"(https?://\S+?\?token=)([A-Za-z0-9_-]+)")


def mail_server(make_server, smtp_sink, **env):
    return make_server(env={"ORDERD_SMTP_URL": smtp_sink.url, "ORDERD_PUBLIC_URL": "https://shop.example.com",
                            **env})


def mails_to(smtp_sink, address, count=1):
    """The messages the sink received for `address`, once there are `count` of them."""
    return wait_until(lambda: (got := [m for m in smtp_sink.received() if m.rcpt_tos == [address]])
                      and len(got) >= count and got, what=f"{count} mails to {address}")


def link_token(mail):
    """The link's token, from the text part; the HTML part carries the same link."""
    found = LINK.search(mail.body("plain"))
    assert found, mail.body("plain")
    assert found.group(0) in mail.body("html")
    return found.group(1), found.group(2)


def reset_token(server, smtp_sink, email, count=1):
    r = server.post("/password/reset/", json={"email": email})
    assert r.status_code == 202, r.text
    mail = mails_to(smtp_sink, email, count)[count - 1]
    assert mail.header("Subject") == "Reset your orderd shop password"
    return link_token(mail)[1]


def confirm(server, token, password=NEW_PASSWORD):
    return server.post("/password/reset/confirm/", json={"token": token, "password": password})


# --- password reset ----------------------------------------------------------------------------------

def test_a_reset_from_the_emails_link_to_a_login_with_the_new_password(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    user, creds = register(s)
    session = login(s, creds["email"], creds["password"])
    token = reset_token(s, smtp_sink, creds["email"])
    [mail] = mails_to(smtp_sink, creds["email"])
    base, _ = link_token(mail)
    assert base == "https://shop.example.com/account/reset-password?token="
    assert "1 hour" in mail.body("plain") and creds["username"] in mail.body("plain")

    assert confirm(s, token).status_code == 204
    assert_error(s.post("/login/", json=creds), 401, "invalid_credentials")
    assert login(s, creds["email"], NEW_PASSWORD)["access"]
    # Every session of the account ended: its refresh token no longer works.
    assert_error(s.post("/token/refresh/", json={"refresh": session["refresh"]}), 401, "token_invalid")
    # Single use.
    assert_error(confirm(s, token, "yet-another-pass-8"), 400, "invalid_token")
    assert login(s, creds["email"], NEW_PASSWORD)
    # Following the link proved the mailbox too.
    me = s.get("/user/", token=login(s, creds["email"], NEW_PASSWORD)["access"]).json()
    assert me["email_verified"] is True
    assert "email_verified" not in user  # /register/ keeps the old API's body


def test_the_new_password_follows_the_registration_rules(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    _, creds = register(s)
    token = reset_token(s, smtp_sink, creds["email"])
    for bad in ("short", "1234567890", creds["email"], creds["username"]):
        body = assert_error(confirm(s, token, bad), 400, "validation_error")
        assert "password" in body["details"]
    assert confirm(s, token).status_code == 204  # a rejected password did not use the token


def test_unknown_used_expired_or_malformed_tokens_are_invalid(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    _, creds = register(s)
    token = reset_token(s, smtp_sink, creds["email"])
    assert_error(confirm(s, "A" * 43), 400, "invalid_token")
    assert_error(confirm(s, ""), 400, "invalid_token")
    assert_error(confirm(s, "x" * 1_000_000), 400, "invalid_token")  # a megabyte costs nothing
    assert_error(s.post("/password/reset/confirm/", json={"token": token}), 400, "validation_error")
    assert_error(s.post("/password/reset/confirm/", json={"token": 5, "password": NEW_PASSWORD}), 400,
                 "validation_error")
    s.sql("UPDATE account_tokens SET expires_at = 1")
    assert_error(confirm(s, token), 400, "invalid_token")
    # A verification token is not a reset token.
    second = reset_token(s, smtp_sink, creds["email"], count=2)
    assert_error(s.post("/email/verify/", json={"token": second}), 400, "invalid_token")
    assert confirm(s, second).status_code == 204


def test_a_password_changed_another_way_voids_the_link(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    _, creds = register(s)
    token = reset_token(s, smtp_sink, creds["email"])
    access = login(s, creds["email"], creds["password"])["access"]
    r = s.post("/password/change/", token=access,
               json={"current_password": creds["password"], "new_password": "changed-by-me-3"})
    assert r.status_code == 200, r.text
    assert_error(confirm(s, token), 400, "invalid_token")
    assert login(s, creds["email"], "changed-by-me-3")
    # An earlier link dies with a reset by a later one too.
    first = reset_token(s, smtp_sink, creds["email"], count=2)
    second = reset_token(s, smtp_sink, creds["email"], count=3)
    assert confirm(s, second).status_code == 204
    assert_error(confirm(s, first, "too-late-pass-4"), 400, "invalid_token")


def test_two_confirms_with_one_token_at_once_exactly_one_wins(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    _, creds = register(s)
    for round_ in range(1, 4):
        token = reset_token(s, smtp_sink, creds["email"], count=round_)
        passwords = [f"racer-{round_}-{i}-pass" for i in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda p: confirm(s, token, p), passwords))
        statuses = sorted(r.status_code for r in results)
        assert statuses == [204, 400, 400, 400], [r.text for r in results]
        winner = passwords[[r.status_code for r in results].index(204)]
        assert login(s, creds["email"], winner)
        creds["password"] = winner


def test_registration_sends_the_confirm_your_email_message_by_default(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink, ORDERD_VERIFICATION_EMAIL=None)
    _, creds = register(s)
    [mail] = mails_to(smtp_sink, creds["email"])
    assert "/account/verify-email?token=" in mail.body("plain")
    assert s.post("/email/verify/", json={"token": link_token(mail)[1]}).status_code == 204
    assert s.get("/user/", token=login(s, creds["email"], creds["password"])["access"]).json()["email_verified"] is True


def test_the_raw_token_is_stored_nowhere(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink, ORDERD_VERIFICATION_EMAIL="on")
    _, creds = register(s)
    token = reset_token(s, smtp_sink, creds["email"], count=2)  # the verification mail came first
    verification = link_token(mails_to(smtp_sink, creds["email"], 2)[0])[1]
    rows = s.sql("SELECT token_hash, purpose FROM account_tokens ORDER BY purpose")
    assert sorted(rows) == sorted([(hashlib.sha256(token.encode()).hexdigest(), "password_reset"),
                                   (hashlib.sha256(verification.encode()).hexdigest(), "email_verification")])
    payloads = [p for (p,) in s.sql("SELECT payload FROM outbox")]
    assert len(payloads) == 2 and all('"sealed"' in p for p in payloads)
    # Nowhere in the database's bytes (SQLite's files with their WAL, or PostgreSQL's dump).
    for raw in (token, verification):
        assert not any(raw.encode() in blob for blob in s.database_bytes())
    # Staff's preview does not show the link either.
    staff = staff_token(s)
    emails = s.get("/admin/emails/", token=staff).json()["results"]
    reset_row = next(e for e in emails if e["kind"] == "password_reset")
    assert reset_row["order_id"] is None and reset_row["recipient"] == creds["email"]
    preview = s.get(f"/admin/emails/{reset_row['id']}/preview/", token=staff)
    assert preview.status_code == 200, preview.text
    assert token not in preview.text and "the link is sent only to the recipient" in preview.json()["text"]


@pytest.mark.parametrize("kind,subject", [("password_reset", "Reset your orderd shop password"),
                                          ("email_verification", "Confirm your email address for orderd shop")])
def test_the_cli_previews_each_account_email_with_a_placeholder_for_its_link(make_server, kind, subject):
    s = make_server()
    p = s.cli("email", "preview", kind)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"Subject: {subject}\n\n") and "{{" not in p.stdout
    assert "the link is sent only to the recipient" in p.stdout and "token=" not in p.stdout
    p = s.cli("email", "preview", kind, "--html")
    assert p.returncode == 0 and p.stdout.lstrip().lower().startswith("<!doctype html>"), p.stderr
    assert "token=" not in p.stdout
    # An account email is about no order.
    p = s.cli("email", "preview", kind, "1")
    assert p.returncode == 2 and "not an order" in p.stderr, p.stderr  # a bad value on the command line


def test_a_broken_account_template_stops_the_start(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "password_reset.txt.mustache").write_text("Open {{reset_link}}\n")
    env = {"ORDERD_DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite'}", "ORDERD_LISTEN": "127.0.0.1:0",
           "ORDERD_TEMPLATE_DIR": str(templates), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([BIN, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "password_reset.txt.mustache" in p.stderr and "{{reset_link}}" in p.stderr
    assert "reset_url" in p.stderr and "listening" not in p.stderr  # the message names what is known


@contextlib.contextmanager
def accounts_locked(server):
    """Another connection holds the accounts table: no transaction of the server's reads or writes it
    until the block ends (SQLite: the write lock; PostgreSQL: ACCESS EXCLUSIVE on users)."""
    if server.on_postgres:
        import psycopg2

        db = psycopg2.connect(server.database_url, connect_timeout=10)
        db.cursor().execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
    else:
        db = sqlite3.connect(server.database_url.removeprefix("sqlite://"), timeout=10, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.rollback() if server.on_postgres else db.execute("ROLLBACK")
        db.close()


def test_the_reset_answer_does_not_wait_for_the_account_lookup(make_server, smtp_sink):
    # The answer used to come after the lookup and a known address's link (about a millisecond more),
    # which told known from unknown addresses by time. Now both come after the answer: with the
    # accounts table locked, any address is answered at once, and the link goes out once it is free.
    s = mail_server(make_server, smtp_sink)
    _, known = register(s)
    with accounts_locked(s):
        for email in (known["email"], f"{unique('nobody')}@example.com"):
            r = s.post("/password/reset/", json={"email": email})
            assert r.status_code == 202, r.text
    mails_to(smtp_sink, known["email"])
    assert len(smtp_sink.received()) == 1


def test_known_and_unknown_addresses_get_the_same_answer_in_comparable_time(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    known = [register(s)[1]["email"] for _ in range(9)]  # 19 requests in all: under the address limit
    inactive, _ = register(s)
    staff = staff_token(s)
    assert s.patch(f"/admin/users/{inactive['id']}/", token=staff, json={"is_active": False}).status_code == 200
    unknown = [f"{unique('nobody')}@example.com" for _ in range(9)]

    def timed(email):
        started = time.perf_counter()
        r = s.post("/password/reset/", json={"email": email})
        return r, time.perf_counter() - started

    answers, times = {"known": [], "unknown": []}, {"known": [], "unknown": []}
    for k, u in zip(known, unknown):  # interleaved, so both see the same load
        for kind, email in (("known", k), ("unknown", u)):
            r, took = timed(email)
            answers[kind].append((r.status_code, r.json()))
            times[kind].append(took)
    r, _ = timed(inactive["email"])
    answers["unknown"].append((r.status_code, r.json()))
    everything = answers["known"] + answers["unknown"]
    assert all(a == everything[0] for a in everything), everything
    assert everything[0][0] == 202
    # Within the same order of magnitude (medians: robust to a scheduling hiccup).
    known_median, unknown_median = statistics.median(times["known"]), statistics.median(times["unknown"])
    assert known_median < 10 * unknown_median and unknown_median < 10 * known_median, times
    # Only the known, active addresses got mail.
    mails_to(smtp_sink, known[-1])
    wait_until(lambda: len(smtp_sink.received()) >= len(known))
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.received()) == sorted(known)


def test_reset_requests_are_throttled_per_email_and_per_address(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    for email in (register(s)[1]["email"], f"{unique('nobody')}@example.com"):  # alike, known or not
        for _ in range(5):
            assert s.post("/password/reset/", json={"email": email}).status_code == 202
        r = s.post("/password/reset/", json={"email": email.upper()})
        assert_error(r, 429, "too_many_requests")
        assert int(r.headers["Retry-After"]) > 0
    for i in range(10):  # 10 requests so far from this address; the limit is 20
        assert s.post("/password/reset/", json={"email": f"{unique('n')}@example.com"}).status_code == 202
    assert_error(s.post("/password/reset/", json={"email": f"{unique('n')}@example.com"}), 429, "too_many_requests")


def test_bad_reset_requests(server):
    assert_error(server.post("/password/reset/", json={}), 400, "validation_error")
    assert_error(server.post("/password/reset/", json={"email": ["a@example.com"]}), 400, "validation_error")
    body = assert_error(server.post("/password/reset/", json={"email": "a" * 1_000_000 + "@example.com"}), 400,
                        "validation_error")
    assert "email" in body["details"]
    body = assert_error(server.post("/password/reset/", json={"email": "a" * 64 + "@" + "b" * 186 + ".com"}), 400,
                        "validation_error")
    assert "254" in body["details"]["email"][0]  # like every route that takes an email
    assert_error(server.post("/password/reset/", data="not json", headers={"Content-Type": "application/json"}), 400,
                 "malformed_json")


# --- password change ---------------------------------------------------------------------------------

def test_a_change_ends_every_other_session_and_returns_a_fresh_pair(server):
    _, creds = register(server)
    first = login(server, creds["email"], creds["password"])
    second = login(server, creds["email"], creds["password"])
    r = server.post("/password/change/", token=second["access"],
                    json={"current_password": creds["password"], "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert set(fresh) == {"refresh", "access"}
    for old in (first, second):
        assert_error(server.post("/token/refresh/", json={"refresh": old["refresh"]}), 401, "token_invalid")
    assert server.post("/token/refresh/", json={"refresh": fresh["refresh"]}).status_code == 200
    assert server.get("/user/", token=fresh["access"]).status_code == 200
    assert_error(server.post("/login/", json=creds), 401, "invalid_credentials")
    assert login(server, creds["email"], NEW_PASSWORD)


def race(first, second, delay):
    """first() and second() on their own threads, second() `delay` seconds later (earlier if negative)."""
    barrier = threading.Barrier(2)

    def run(call, wait):
        barrier.wait(timeout=30)
        time.sleep(wait)
        return call()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        a = pool.submit(run, first, max(0.0, -delay))
        b = pool.submit(run, second, max(0.0, delay))
        return a.result(), b.result()


def change_password(server, access, old, new):
    return server.post("/password/change/", token=access, json={"current_password": old, "new_password": new})


def race_a_change(server, rounds, seed, other, spread, refused):
    """Each round, a new account's password change and other(creds, tokens) at once (the latter up to
    `spread` seconds later or earlier): the change wins, and the other either is refused with
    `refused` or got a session that the change has ended."""
    rng = random.Random(seed)
    for _ in range(rounds):
        _, creds = register(server)
        tokens = login(server, creds["email"], creds["password"])
        changed, answer = race(lambda: change_password(server, tokens["access"], creds["password"], NEW_PASSWORD),
                               lambda: other(creds, tokens), rng.uniform(*spread))
        assert changed.status_code == 200, changed.text
        if answer.status_code == 200:
            assert_error(server.post("/token/refresh/", json={"refresh": answer.json()["refresh"]}), 401,
                         "token_invalid")
        else:
            assert_error(answer, 401, refused)


def test_a_login_with_the_old_password_racing_a_change_leaves_no_session(make_server):
    # The login checked the password against the hash it had read, then issued a token in a later
    # transaction: when the change committed in between, the old password's session outlived it (a few
    # rounds in 40, on both databases).
    s = make_server()
    race_a_change(s, 40, 1, lambda creds, tokens: s.post("/login/", json=creds), (0, 0.03), "invalid_credentials")


def test_a_refresh_racing_a_change_leaves_no_session(make_server):
    # On PostgreSQL the change's revocation could not see the token a refresh was inserting: it outlived
    # the change in a few rounds in 80.
    s = make_server()
    race_a_change(s, 80, 2, lambda creds, tokens: s.post("/token/refresh/", json={"refresh": tokens["refresh"]}),
                  (-0.01, 0.01), "token_invalid")


def test_a_wrong_current_password_is_400_and_counts_toward_the_login_throttle(make_server):
    s = make_server()
    _, creds = register(s)
    access = login(s, creds["email"], creds["password"])["access"]
    for _ in range(5):
        body = assert_error(s.post("/password/change/", token=access,
                                   json={"current_password": "wrong-guess-1", "new_password": NEW_PASSWORD}),
                            400, "validation_error")
        assert "current_password" in body["details"]
    # Five failures from this address: the login throttle now holds both routes.
    assert_error(s.post("/password/change/", token=access,
                        json={"current_password": creds["password"], "new_password": NEW_PASSWORD}),
                 429, "too_many_requests")
    assert_error(s.post("/login/", json=creds), 429, "too_many_requests")


def test_change_password_needs_a_signed_in_user_and_good_fields(server):
    assert_error(server.post("/password/change/", json={"current_password": "x", "new_password": NEW_PASSWORD}),
                 401, "not_authenticated")
    _, creds = register(server)
    access = login(server, creds["email"], creds["password"])["access"]
    body = assert_error(server.post("/password/change/", token=access,
                                    json={"current_password": creds["password"], "new_password": "12345678"}),
                        400, "validation_error")
    assert "new_password" in body["details"]
    assert_error(server.post("/password/change/", token=access, json={"current_password": creds["password"],
                                                                     "new_password": "x" * 1_000_000}),
                 400, "validation_error")
    assert_error(server.post("/password/change/", token=access, json={}), 400, "validation_error")
    assert login(server, creds["email"], creds["password"])  # nothing changed


# --- verified email addresses ----------------------------------------------------------------------------

def verify_token(smtp_sink, email, count=1):
    mail = mails_to(smtp_sink, email, count)[count - 1]
    assert mail.header("Subject") == "Confirm your email address for orderd shop"
    base, token = link_token(mail)
    assert base == "https://shop.example.com/account/verify-email?token="
    return token


def test_registration_sends_a_confirmation_link_that_verifies_the_address(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink, ORDERD_VERIFICATION_EMAIL="on")
    _, creds = register(s)
    access = login(s, creds["email"], creds["password"])["access"]
    assert s.get("/user/", token=access).json()["email_verified"] is False
    token = verify_token(smtp_sink, creds["email"])
    assert s.post("/email/verify/", json={"token": token}).status_code == 204
    assert s.get("/user/", token=access).json()["email_verified"] is True
    assert_error(s.post("/email/verify/", json={"token": token}), 400, "invalid_token")
    assert_error(s.post("/email/verify/resend/", token=access), 409, "email_already_verified")
    assert_error(s.post("/email/verify/", json={"token": "nope"}), 400, "invalid_token")
    assert_error(s.post("/email/verify/", json={}), 400, "validation_error")


def test_without_the_setting_registration_sends_nothing_and_resend_does(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    _, creds = register(s)
    access = login(s, creds["email"], creds["password"])["access"]
    assert_error(s.post("/email/verify/resend/"), 401, "not_authenticated")
    r = s.post("/email/verify/resend/", token=access)
    assert r.status_code == 202, r.text
    token = verify_token(smtp_sink, creds["email"])
    assert len(smtp_sink.received()) == 1  # only the one asked for
    for _ in range(4):
        assert s.post("/email/verify/resend/", token=access).status_code == 202
    assert_error(s.post("/email/verify/resend/", token=access), 429, "too_many_requests")
    # Any of the links works; the first one used verifies.
    assert s.post("/email/verify/", json={"token": token}).status_code == 204


def test_require_verified_email_guards_place_order(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink, ORDERD_VERIFICATION_EMAIL="on", ORDERD_REQUIRE_VERIFIED_EMAIL="true")
    staff = staff_token(s)
    product = s.post("/store/products/", token=staff, json={"name": unique("P"), "price": "5.00", "stock": 10}).json()
    _, creds = register(s)
    access = login(s, creds["email"], creds["password"])["access"]
    items = [{"product_id": product["id"], "quantity": 1}]
    assert_error(s.post("/store/place_order/", token=access, json={"items": items}), 403, "email_not_verified")
    assert_error(s.post("/store/place_order/", token=access, json={"items": items}, headers={"Idempotency-Key": "k1"}),
                 403, "email_not_verified")
    assert s.get(f"/store/products/{product['id']}/", token=access).json()["stock"] == 10  # nothing taken
    assert s.post("/email/verify/", json={"token": verify_token(smtp_sink, creds["email"])}).status_code == 204
    place(s, access, items, expect=201)
    place(s, access, items, expect=201, headers={"Idempotency-Key": "k2"})


def test_by_default_unverified_customers_still_order(server):
    token = customer_token(server)
    # /user/ tells whether the address was confirmed, whether or not the shop requires it.
    assert server.get("/user/", token=token).json()["email_verified"] is False
    staff = staff_token(server)
    product = server.post("/store/products/", token=staff,
                          json={"name": unique("P"), "price": "5.00", "stock": 10}).json()
    place(server, token, product_id=product["id"], expect=201)


# --- staff -------------------------------------------------------------------------------------------------

def test_staff_see_verification_and_send_a_reset_link(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    staff = staff_token(s)
    user, creds = register(s)
    listed = s.get(f"/admin/users/?search={creds['username']}", token=staff).json()["results"]
    assert listed[0]["email_verified"] is False
    r = s.post(f"/admin/users/{user['id']}/password-reset/", token=staff)
    assert r.status_code == 202, r.text
    [mail] = mails_to(smtp_sink, creds["email"])
    assert confirm(s, link_token(mail)[1]).status_code == 204
    assert login(s, creds["email"], NEW_PASSWORD)
    listed = s.get(f"/admin/users/?search={creds['username']}", token=staff).json()["results"]
    assert listed[0]["email_verified"] is True

    customer = login(s, creds["email"], NEW_PASSWORD)["access"]
    assert_error(s.post(f"/admin/users/{user['id']}/password-reset/", token=customer), 403, "forbidden")
    assert_error(s.post(f"/admin/users/{user['id']}/password-reset/"), 401, "not_authenticated")
    assert_error(s.post("/admin/users/999999999/password-reset/", token=staff), 404, "not_found")
    assert s.patch(f"/admin/users/{user['id']}/", token=staff, json={"is_active": False}).status_code == 200
    assert_error(s.post(f"/admin/users/{user['id']}/password-reset/", token=staff), 409, "account_inactive")


def test_a_deactivated_account_cannot_use_a_link_sent_before(make_server, smtp_sink):
    s = mail_server(make_server, smtp_sink)
    staff = staff_token(s)
    user, creds = register(s)
    token = reset_token(s, smtp_sink, creds["email"])
    assert s.patch(f"/admin/users/{user['id']}/", token=staff, json={"is_active": False}).status_code == 200
    assert_error(confirm(s, token), 400, "invalid_token")


# --- the pages ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/account/reset-password", "/account/verify-email/"])
def test_the_account_pages_are_small_self_contained_and_locked_down(server, path):
    r = server.get(path + "?token=abc")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert "form-action 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"
    assert "http://" not in r.text and "https://" not in r.text and len(r.content) < 8000
    script = re.search(r'<script src="([^"]+)"', r.text).group(1)
    assert script == ("../account.js" if path.endswith("/") else "account.js")
    sheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', r.text).group(1)
    assert sheet == ("../account.css" if path.endswith("/") else "account.css")
    assert "{{" not in r.text
    js = server.get("/account/account.js")
    assert js.status_code == 200 and js.headers["Content-Type"].startswith("application/javascript")
    assert "password/reset/confirm/" in js.text and "email/verify/" in js.text
    css = server.get("/account/account.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css") and "button" in css.text


# --- two nodes (PostgreSQL) ------------------------------------------------------------------------------

@postgres_only
def test_one_token_on_two_nodes_at_once_exactly_one_wins(tmp_path, smtp_sink):
    url = fresh_database_url(tmp_path)
    env = {"ORDERD_DATABASE_URL": url, "ORDERD_SMTP_URL": smtp_sink.url}
    nodes = [Server(tmp_path / f"node{i}", env=env) for i in range(2)]
    for node in nodes:
        node.start()
    try:
        _, creds = register(nodes[0])
        for round_ in range(1, 4):
            token = reset_token(nodes[1], smtp_sink, creds["email"], count=round_)
            jobs = [(nodes[i % 2], f"two-nodes-{round_}-{i}") for i in range(4)]
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda job: confirm(job[0], token, job[1]), jobs))
            assert sorted(r.status_code for r in results) == [204, 400, 400, 400], [r.text for r in results]
            winner = jobs[[r.status_code for r in results].index(204)][1]
            assert login(nodes[round_ % 2], creds["email"], winner)
    finally:
        for node in nodes:
            node.stop()
