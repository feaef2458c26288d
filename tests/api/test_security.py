"""The security review's findings (docs/security.md): what an attacker, or an unlucky shop, does, and
what the server does about it. Each test failed on the code the review read."""
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import BIN, assert_error, login, pay, register, staff_token, unique
from test_payments import new_order

TRUSTED_PROXY = {"ORDERD_TRUSTED_PROXIES": "127.0.0.1/32"}


def from_address(address):
    return {"X-Forwarded-For": address}


def rss_kib(server):
    status = open(f"/proc/{server.proc.pid}/status").read()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


# --- an email of any length ------------------------------------------------------------------------

def test_an_email_longer_than_254_bytes_is_refused_on_every_route_that_takes_one(server):
    email = "a" * 64 + "@" + "b" * 186 + ".com"  # 255 bytes
    for path, body in [("/register/", {"email": email, "username": unique(), "password": "correct-horse-9"}),
                       ("/login/", {"email": email, "password": "correct-horse-9"})]:
        body = assert_error(server.post(path, json=body), 400, "validation_error")
        assert "254" in body["details"]["email"][0]


def test_failed_logins_with_megabyte_emails_leave_memory_where_it_was(make_server):
    # ASan keeps freed blocks in a quarantine (256 MiB by default): without it, what is measured is
    # the server's own keeping, as in a release build.
    s = make_server(env={**TRUSTED_PROXY, "ASAN_OPTIONS": "quarantine_size_mb=0:detect_leaks=1"})
    http = requests.Session()

    def fail(i):
        body = {"email": f"{i:06d}" + "x" * 900_000 + "@example.com", "password": "wrong-password"}
        # A fresh address each time, so that no address throttle stops the requests early.
        return http.post(s.base + "/login/", json=body, headers=from_address(f"198.18.{i // 250}.{i % 250}"),
                         timeout=30)

    for i in range(5):
        fail(i)
    before = rss_kib(s)
    statuses = {fail(i).status_code for i in range(5, 505)}
    grown = rss_kib(s) - before
    assert grown < 16 * 1024, f"the server grew by {grown} KiB over 500 failed logins"
    assert statuses == {400}, statuses


# --- registrations and password hashing --------------------------------------------------------------

def test_registrations_are_limited_per_client_address(make_server):
    s = make_server(env={**TRUSTED_PROXY, "ORDERD_REGISTRATIONS_PER_HOUR": "3"})

    def sign_up(address):
        name = unique()
        return s.post("/register/", headers=from_address(address),
                      json={"email": f"{name}@example.com", "username": name, "password": "correct-horse-9"})

    assert [sign_up("203.0.113.7").status_code for _ in range(3)] == [201, 201, 201]
    r = sign_up("203.0.113.7")
    assert_error(r, 429, "too_many_requests")
    assert 0 < int(r.headers["Retry-After"]) <= 3600
    assert sign_up("198.51.100.9").status_code == 201  # another customer of the same proxy


def test_a_registration_storm_never_holds_up_payments(make_server):
    """40 clients register as fast as they can for 10 s (64 MiB argon2id hashes, a short queue) while
    one customer places and pays orders: nine payments in ten take under a second (none 3 s), and every
    registration is answered 201, or 503 too_busy with Retry-After at once, never left to time out."""
    s = make_server(env={**TRUSTED_PROXY, "ORDERD_PASSWORD_COST": "interactive", "ORDERD_PASSWORD_QUEUE": "4"})
    staff = staff_token(s)
    _, creds = register(s)
    customer = login(s, creds["email"], creds["password"])["access"]
    deadline = time.monotonic() + 10
    answers, slowest = [], []
    lock = threading.Lock()

    def storm(worker):
        http = requests.Session()
        while time.monotonic() < deadline:
            name = unique()
            r = http.post(s.base + "/register/", headers=from_address(f"198.18.0.{worker + 1}"), timeout=30,
                          json={"email": f"{name}@example.com", "username": name, "password": "correct-horse-9"})
            with lock:
                answers.append((r.status_code, r.json()["code"] if r.status_code != 201 else None,
                                r.headers.get("Retry-After")))

    def buy():
        while time.monotonic() < deadline:
            started = time.monotonic()
            order = new_order(s, staff, customer, quantity=1)
            r = pay(s, customer, order)
            assert r.status_code == 200, r.text
            slowest.append(time.monotonic() - started)

    with ThreadPoolExecutor(41) as pool:
        storms = [pool.submit(storm, i) for i in range(40)]
        buyer = pool.submit(buy)
        buyer.result()
        for f in storms:
            f.result()
    # Nine payments in ten under a second, and none near the storm's own scale. A payment queued behind
    # the hashes would wait seconds, every time; one scheduling hiccup of this 2-core machine while
    # another suite runs beside this one (1.19 s once, in make test's PostgreSQL run) is not that.
    ninth = sorted(slowest)[len(slowest) * 9 // 10 - 1] if slowest else None
    assert len(slowest) >= 10 and ninth < 1.0 and max(slowest) < 3.0, \
        f"{len(slowest)} payments, 90th percentile {ninth:.2f} s, slowest {max(slowest):.2f} s"
    statuses = {status for status, _, _ in answers}
    assert statuses <= {201, 429, 503}, statuses
    assert 201 in statuses and 503 in statuses, statuses
    assert all(code == "too_busy" and retry == "1" for status, code, retry in answers if status == 503)


def test_the_default_password_cost_is_owasps_12_mib_3_passes(server):
    env = {k: v for k, v in server.env.items() if k != "ORDERD_PASSWORD_COST"}  # the binary's default
    email = unique() + "@example.com"
    created = subprocess.run([BIN, "user", "create", "--email", email, "--username", unique(), "--password-stdin"],
                             cwd=server.workdir, env=env, input="correct-horse-9\n", capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    [(stored,)] = server.sql("SELECT password_hash FROM users WHERE email = ?", (email,))
    assert stored.startswith("$argon2id$v=19$m=12288,t=3,p=1$"), stored


# --- client addresses behind a proxy, and who can be locked out -------------------------------------

def test_a_guesser_behind_the_proxy_cannot_lock_out_the_owner_elsewhere(make_server):
    s = make_server(env=TRUSTED_PROXY)
    _, creds = register(s)
    wrong = {**creds, "password": "wrong-password"}
    codes = [s.post("/login/", json=wrong, headers=from_address("203.0.113.7")).status_code for _ in range(120)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    r = s.post("/login/", json=creds, headers=from_address("198.51.100.9"))
    assert r.status_code == 200, r.text
    assert_error(s.post("/login/", json=creds, headers=from_address("203.0.113.7")), 429, "too_many_requests")
    assert "ip=203.0.113.7" in s.log_text() and "ip=198.51.100.9" in s.log_text()


def test_forwarded_for_from_an_untrusted_peer_is_ignored(make_server):
    s = make_server(env={"ORDERD_TRUSTED_PROXIES": "10.0.0.0/8"})  # not the tests' 127.0.0.1
    _, creds = register(s)
    for _ in range(5):
        assert s.post("/login/", json={**creds, "password": "wrong"}, headers=from_address("203.0.113.7")).status_code \
            == 401
    r = s.post("/login/", json=creds, headers=from_address("198.51.100.9"))
    assert_error(r, 429, "too_many_requests")  # both came from 127.0.0.1, whatever they said
    assert "ip=198.51.100.9" not in s.log_text()


def test_a_guess_spread_over_many_addresses_meets_the_accounts_ceiling(make_server):
    s = make_server(env=TRUSTED_PROXY)
    _, creds = register(s)
    for i in range(50):
        r = s.post("/login/", json={**creds, "password": "wrong-password"}, headers=from_address(f"198.18.1.{i}"))
        assert r.status_code == 401, (i, r.text)
    r = s.post("/login/", json=creds, headers=from_address("198.18.2.1"))
    assert_error(r, 429, "too_many_requests")
    assert int(r.headers["Retry-After"]) > 0


def test_two_authorization_headers_authenticate_nobody(server):
    # Of two headers the first was taken; a proxy in front may have checked the other (a security audit).
    import http.client
    import json

    _, creds = register(server)
    good = "Bearer " + login(server, creds["email"], creds["password"])["access"]
    for pair in ((good, "Bearer nonsense"), ("Bearer nonsense", good), (good, good)):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.putrequest("GET", "/user/")
            for value in pair:
                connection.putheader("Authorization", value)
            connection.endheaders()
            answer = connection.getresponse()
            body = json.loads(answer.read())
        finally:
            connection.close()
        assert answer.status == 401 and body["code"] == "not_authenticated", (pair, body)
        assert body["error"] == "Send one Authorization header.", body
    assert server.get("/user/", headers={"Authorization": good}).status_code == 200


def test_api_answers_are_never_stored_by_a_cache_nor_sniffed_and_pages_keep_their_own_headers(server):
    # A customer's orders or staff's customer list went out with no Cache-Control and no nosniff (the
    # pages and assets had both): an outside audit's hardening finding.
    staff = staff_token(server)
    for r in (server.get("/user/", token=staff), server.get("/admin/users/", token=staff),
              server.get("/store/orders/999999999/", token=staff), server.post("/login/", json={}),
              server.get("/healthz")):
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff", \
            (r.url, r.status_code, r.headers)
    page = server.get("/admin/")
    assert page.status_code == 200 and page.headers["Cache-Control"] != "no-store", page.headers


# --- cross-origin pages (CORS) -------------------------------------------------------------------------

SHOP = "https://shop.example.com"


def preflight(server, path, origin, method="POST"):
    return server.request("OPTIONS", path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type"})


def test_options_says_which_methods_a_path_takes_and_no_origin_is_allowed_by_default(server):
    # OPTIONS was 405 on every route (DRF answered it); a shop's pages on another origin could not
    # call the API at all (an old-client compatibility audit).
    r = preflight(server, "/login/", SHOP)
    assert r.status_code == 204 and r.headers["Allow"] == "POST, OPTIONS" and not r.content
    assert "Access-Control-Allow-Origin" not in r.headers
    assert server.request("OPTIONS", "/store/products/").headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert_error(server.request("OPTIONS", "/no/such/route/"), 404, "not_found")
    assert "Access-Control-Allow-Origin" not in server.get("/healthz", headers={"Origin": SHOP}).headers


def test_a_configured_origin_may_call_the_api_from_its_pages_and_another_may_not(make_server):
    s = make_server(env={"ORDERD_CORS_ORIGINS": f"{SHOP}, https://m.shop.example.com"})
    r = preflight(s, "/store/place_order/", SHOP)
    assert r.status_code == 204, r.text
    assert r.headers["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert {"Authorization", "Content-Type", "Idempotency-Key"} <= {
        h.strip() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert "Access-Control-Allow-Credentials" not in r.headers  # tokens go in a header, never in cookies
    _, creds = register(s)
    r = s.post("/login/", json=creds, headers={"Origin": "https://m.shop.example.com"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://m.shop.example.com"
    assert "X-Request-Id" in r.headers["Access-Control-Expose-Headers"] and "Origin" in r.headers["Vary"]
    for evil in ("https://evil.example.com", "https://shop.example.com.evil.example", "null", "http://shop.example.com"):
        assert "Access-Control-Allow-Origin" not in preflight(s, "/login/", evil).headers, evil
        assert "Access-Control-Allow-Origin" not in s.post("/login/", json=creds, headers={"Origin": evil}).headers
    anyone = make_server(env={"ORDERD_CORS_ORIGINS": "*"})
    assert preflight(anyone, "/login/", "https://any.example").headers["Access-Control-Allow-Origin"] == \
        "https://any.example"


def test_a_cors_origin_that_is_not_one_stops_the_start(tmp_path):
    for bad in ("shop.example.com", "https://shop.example.com/", "https://shop.example.com/path", "ftp://x.example",
                "https://Shop.example.com", "https://a.example,,https://b.example"):
        env = {"PATH": "/usr/bin:/bin", "ORDERD_DATABASE_URL": f"sqlite://{tmp_path}/o.db", "ORDERD_CORS_ORIGINS": bad}
        p = subprocess.run([BIN, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and "ORDERD_CORS_ORIGINS" in p.stderr, (bad, p.returncode, p.stderr)
