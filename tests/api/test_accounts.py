"""Accounts: register, login, refresh, logout, /user/, roles, tokens, throttling, password storage."""
import base64
import hashlib
import hmac
import json
import time

import pytest

from conftest import TEST_SECRET, assert_error, login, register, unique


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def forge(claims: dict, key: str = TEST_SECRET, alg: str = "HS256") -> str:
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    sig = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def access_claims(user_id, **over):
    now = int(time.time())
    return {"typ": "access", "sub": str(user_id), "role": "customer", "iat": now, "exp": now + 600,
            "jti": "x" * 32, **over}


# --- register -----------------------------------------------------------------------------------

def test_register_returns_the_old_body(server):
    name = unique()
    r = server.post("/register/", json={"email": f"{name}@Example.COM", "username": name,
                                        "password": "a-good-password", "phone_number": "+44 20 7946-0958"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "email", "username", "phone_number"}
    assert isinstance(body["id"], int)
    assert body["email"] == f"{name}@example.com"
    assert body["username"] == name
    assert body["phone_number"] == "+442079460958"


def test_register_without_phone_gives_null(server):
    body, _ = register(server)
    assert body["phone_number"] is None


def test_register_without_trailing_slash(server):
    name = unique()
    r = server.post("/register", json={"email": f"{name}@example.com", "username": name, "password": "pass-word-1"})
    assert r.status_code == 201


def test_duplicate_email_in_other_case_is_409(server):
    body, creds = register(server)
    r = server.post("/register/", json={**creds, "email": creds["email"].upper(), "username": unique()})
    err = assert_error(r, 409, "email_taken")
    assert "email" in err["details"]


def test_duplicate_username_is_409(server):
    _, creds = register(server)
    r = server.post("/register/", json={**creds, "email": f"{unique()}@example.com"})
    err = assert_error(r, 409, "username_taken")
    assert "username" in err["details"]


@pytest.mark.parametrize("field,value", [
    ("email", "not-an-email"),
    ("email", "a@b"),
    ("email", "two@@example.com"),
    ("email", "space in@example.com"),
    ("email", ""),
    ("email", 42),
    ("username", "has space"),
    ("username", "semi;colon"),
    ("username", "x" * 51),
    ("username", ""),
    ("password", "short7!"),
    ("password", "1234567890"),
    ("password", "p" * 129),
    ("password", None),
    ("phone_number", "call me"),
    ("phone_number", "+12"),
    ("phone_number", "1" * 16),
    ("phone_number", 5551234),
])
def test_each_validation_rule_reports_its_field(server, field, value):
    name = unique()
    payload = {"email": f"{name}@example.com", "username": name, "password": "a-fine-password"}
    payload[field] = value
    err = assert_error(server.post("/register/", json=payload), 400, "validation_error")
    assert field in err["details"], err
    assert all(isinstance(m, str) for m in err["details"][field])


def test_password_equal_to_email_or_username_is_refused(server):
    name = unique()
    email = f"{name}@example.com"
    err = assert_error(server.post("/register/", json={"email": email, "username": name, "password": email.upper()}),
                       400, "validation_error")
    assert "password" in err["details"]
    err = assert_error(server.post("/register/", json={"email": email, "username": name + "long",
                                                       "password": name + "long"}), 400, "validation_error")
    assert "password" in err["details"]


def test_missing_fields_are_all_reported(server):
    err = assert_error(server.post("/register/", json={}), 400, "validation_error")
    assert set(err["details"]) == {"email", "username", "password"}


def test_malformed_json_and_wrong_content_type(server):
    r = server.post("/register/", data=b'{"email": "x@', headers={"Content-Type": "application/json"})
    assert_error(r, 400, "malformed_json")
    r = server.post("/register/", data=b"email=x", headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    # A form is read (test_form_bodies.py), so its missing fields are named.
    r = server.post("/register/", data=b"email=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert set(assert_error(r, 400, "validation_error")["details"]) >= {"username", "password"}
    r = server.post("/register/", data=b"[]", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "validation_error")


def test_concurrent_registrations_of_one_email_create_one_user(server):
    from concurrent.futures import ThreadPoolExecutor
    import requests
    name = unique()

    def attempt(i):
        return requests.post(server.base + "/register/", timeout=10, json={
            "email": f"{name}@example.com", "username": f"{name}{i}", "password": "a-fine-password"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert codes.count(201) == 1, codes
    assert codes.count(409) == 15, codes


# --- login and /user/ ---------------------------------------------------------------------------

def test_login_returns_refresh_and_access(server):
    body, creds = register(server)
    tokens = login(server, creds["email"].upper(), creds["password"])
    assert set(tokens) == {"refresh", "access"}
    me = server.get("/user/", token=tokens["access"])
    assert me.status_code == 200
    # The registration's body, plus whether the address was confirmed (issue #20).
    assert me.json() == {**body, "email_verified": False}


def test_wrong_password_and_unknown_email_are_the_same_401(server):
    _, creds = register(server)
    assert_error(server.post("/login/", json={**creds, "password": "wrong-password"}), 401, "invalid_credentials")
    assert_error(server.post("/login/", json={"email": f"{unique()}@example.com", "password": "whatever1"}), 401,
                 "invalid_credentials")


def test_login_validation(server):
    err = assert_error(server.post("/login/", json={"email": "x@example.com"}), 400, "validation_error")
    assert "password" in err["details"]


def test_access_token_claims(server):
    body, creds = register(server)
    access = login(server, creds["email"], creds["password"])["access"]
    header, claims = unb64(access.split(".")[0]), unb64(access.split(".")[1])
    assert header["alg"] == "HS256"
    assert claims["typ"] == "access"
    assert claims["sub"] == str(body["id"])
    assert claims["role"] == "customer"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert len(claims["jti"]) >= 16


def test_access_ttl_comes_from_configuration(make_server):
    s = make_server(env={"ORDERD_ACCESS_TTL": "2m", "ORDERD_REFRESH_TTL": "1h"})
    _, creds = register(s)
    tokens = login(s, creds["email"], creds["password"])
    access, refresh = unb64(tokens["access"].split(".")[1]), unb64(tokens["refresh"].split(".")[1])
    assert access["exp"] - access["iat"] == 120
    assert refresh["exp"] - refresh["iat"] == 3600


def test_user_route_needs_a_token(server):
    assert_error(server.get("/user/"), 401, "not_authenticated")
    assert_error(server.get("/user/", headers={"Authorization": "Token abc"}), 401, "not_authenticated")
    assert_error(server.get("/user/", token="not.a.jwt"), 401, "token_invalid")


def test_every_401_names_the_bearer_scheme_as_simplejwt_did(server):
    # RFC 9110 requires the challenge on a 401; SimpleJWT's views sent this one, and some HTTP clients
    # (Android's HttpURLConnection) fail on a 401 without it (an old-client compatibility audit).
    _, creds = register(server)
    for r in (server.get("/user/"), server.get("/user/", token="not.a.jwt"),
              server.post("/login/", json={**creds, "password": "wrong-password"}),
              server.post("/token/refresh/", json={"refresh": "not.a.jwt"})):
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"', r.headers
    for r in (server.get("/healthz"), server.get("/user/", token=login(server, creds["email"], creds["password"])["access"])):
        assert r.status_code == 200 and "WWW-Authenticate" not in r.headers


def test_the_token_may_follow_bearer_after_any_blanks_as_simplejwt_split_it(server):
    _, creds = register(server)
    access = login(server, creds["email"], creds["password"])["access"]
    for header in (f"Bearer  {access}", f"Bearer\t{access}", f"bearer {access}"):
        assert server.get("/user/", headers={"Authorization": header}).status_code == 200, repr(header)
    for header in (f"Bearer {access} extra", f"Bearer{access}", "Bearer  ", f"Bearer {access[:-2]} {access[-2:]}"):
        r = server.get("/user/", headers={"Authorization": header})
        assert r.status_code == 401, repr(header)


def test_forged_tokens_are_refused(server):
    body, creds = register(server)
    uid = body["id"]
    assert server.get("/user/", token=forge(access_claims(uid))).status_code == 200  # the forge itself is right
    assert_error(server.get("/user/", token=forge(access_claims(uid), alg="none")), 401, "token_invalid")
    assert_error(server.get("/user/", token=forge(access_claims(uid), key="another-key-" * 4)), 401, "token_invalid")
    assert_error(server.get("/user/", token=forge(access_claims(uid), alg="HS512")), 401, "token_invalid")
    assert_error(server.get("/user/", token=forge(access_claims(uid, typ="refresh"))), 401, "token_invalid")
    assert_error(server.get("/user/", token=forge(access_claims(uid, exp=int(time.time()) - 5))), 401, "token_expired")

    real = login(server, creds["email"], creds["password"])["access"]
    head, payload, sig = real.split(".")
    tampered = b64(json.dumps({**unb64(payload), "role": "staff"}).encode())
    assert_error(server.get("/user/", token=f"{head}.{tampered}.{sig}"), 401, "token_invalid")


def test_refresh_token_is_not_an_access_token(server):
    _, creds = register(server)
    tokens = login(server, creds["email"], creds["password"])
    assert_error(server.get("/user/", token=tokens["refresh"]), 401, "token_invalid")
    assert_error(server.post("/token/refresh/", json={"refresh": tokens["access"]}), 401, "token_invalid")


def test_expired_access_token_with_a_short_ttl(make_server):
    s = make_server(env={"ORDERD_ACCESS_TTL": "1s"})
    _, creds = register(s)
    access = login(s, creds["email"], creds["password"])["access"]
    deadline = time.monotonic() + 10
    while True:  # the token dies within its TTL (a second, rounded to whole seconds)
        r = s.get("/user/", token=access)
        if r.status_code == 401:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert_error(r, 401, "token_expired")


# --- refresh, rotation, logout ------------------------------------------------------------------

def test_refresh_rotates_and_reuse_revokes_the_family(server):
    _, creds = register(server)
    first = login(server, creds["email"], creds["password"])
    r = server.post("/token/refresh/", json={"refresh": first["refresh"]})
    assert r.status_code == 200
    second = r.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert server.get("/user/", token=second["access"]).status_code == 200

    assert_error(server.post("/token/refresh/", json={"refresh": first["refresh"]}), 401, "token_invalid")
    # the thief's reuse ended the whole family, including the newest member
    assert_error(server.post("/token/refresh/", json={"refresh": second["refresh"]}), 401, "token_invalid")
    # a new login starts a new, working family
    third = login(server, creds["email"], creds["password"])
    assert server.post("/token/refresh/", json={"refresh": third["refresh"]}).status_code == 200


def test_refresh_validation_and_garbage(server):
    assert_error(server.post("/token/refresh/", json={}), 400, "validation_error")
    assert_error(server.post("/token/refresh/", json={"refresh": "garbage"}), 401, "token_invalid")


def test_rotation_off_keeps_the_old_behaviour(make_server):
    s = make_server(env={"ORDERD_REFRESH_ROTATION": "off"})
    _, creds = register(s)
    tokens = login(s, creds["email"], creds["password"])
    for _ in range(3):
        r = s.post("/token/refresh/", json={"refresh": tokens["refresh"]})
        assert r.status_code == 200
        assert r.json()["refresh"] == tokens["refresh"]
        assert s.get("/user/", token=r.json()["access"]).status_code == 200
    assert s.post("/logout/", json={"refresh": tokens["refresh"]}).status_code == 204
    assert_error(s.post("/token/refresh/", json={"refresh": tokens["refresh"]}), 401, "token_invalid")


def test_logout_revokes_the_token_and_its_descendants(server):
    _, creds = register(server)
    first = login(server, creds["email"], creds["password"])
    second = server.post("/token/refresh/", json={"refresh": first["refresh"]}).json()
    r = server.post("/logout/", json={"refresh": second["refresh"]})
    assert r.status_code == 204 and r.content == b""
    assert_error(server.post("/token/refresh/", json={"refresh": second["refresh"]}), 401, "token_invalid")
    assert_error(server.post("/logout/", json={"refresh": "nonsense"}), 401, "token_invalid")


def test_concurrent_refreshes_of_one_token_issue_exactly_one(make_server):
    # The conditional mark_refresh_used lets one refresh win; each of the others then finds the token
    # used, which is reuse, so it revokes the family (the winner's new token with it) and gets 401.
    # A private server whose sweeper does not run during the test, which would purge revoked rows.
    from concurrent.futures import ThreadPoolExecutor
    import requests
    s = make_server(env={"ORDERD_SWEEP_INTERVAL": "1h"})
    user, creds = register(s)
    refresh = login(s, creds["email"], creds["password"])["refresh"]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: requests.post(s.base + "/token/refresh/", json={"refresh": refresh},
                                                          timeout=10), range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [401] * 7, [r.text for r in responses]
    for r in responses:
        if r.status_code == 401:
            assert_error(r, 401, "token_invalid")
    issued = next(r.json() for r in responses if r.status_code == 200)
    assert set(issued) == {"access", "refresh"} and issued["refresh"] != refresh
    # the one issued pair is real: its access token opens /user/ (access tokens are not looked up) ...
    me = s.get("/user/", token=issued["access"])
    assert me.status_code == 200 and me.json()["id"] == user["id"], me.text
    # ... its refresh token is the only one minted besides the login's, and the reuses ended it too
    assert s.sql("SELECT count(*) FROM refresh_tokens WHERE user_id = ?", (user["id"],)) == [(2,)]
    assert_error(s.post("/token/refresh/", json={"refresh": issued["refresh"]}), 401, "token_invalid")


# --- throttling ---------------------------------------------------------------------------------

def test_five_failures_per_email_then_429_with_retry_after(make_server):
    s = make_server()
    _, creds = register(s)
    for _ in range(5):
        assert_error(s.post("/login/", json={**creds, "password": "wrong-password"}), 401, "invalid_credentials")
    r = s.post("/login/", json=creds)  # even the right password waits now
    assert_error(r, 429, "too_many_requests")
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60


def test_a_success_resets_the_email_count(make_server):
    s = make_server()
    _, creds = register(s)
    for _ in range(4):
        s.post("/login/", json={**creds, "password": "wrong-password"})
    login(s, creds["email"], creds["password"])
    for _ in range(4):
        assert_error(s.post("/login/", json={**creds, "password": "wrong-password"}), 401, "invalid_credentials")


def test_one_address_is_throttled_after_100_failures(make_server):
    s = make_server()
    for i in range(100):
        assert s.post("/login/", json={"email": f"nobody{i}@example.com", "password": "x-password"}).status_code == 401
    r = s.post("/login/", json={"email": "someone-else@example.com", "password": "x-password"})
    assert_error(r, 429, "too_many_requests")
    assert int(r.headers["Retry-After"]) > 0


# --- storage, CLI, configuration ----------------------------------------------------------------

def test_database_holds_argon2id_hashes_and_never_a_password(server):
    password = "very-distinctive-password-" + unique()
    _, creds = register(server, password=password)
    [(stored,)] = server.sql("SELECT password_hash FROM users WHERE email = ?", (creds["email"],))
    assert stored.startswith("$argon2id$v=19$")
    for blob in server.database_bytes():
        assert password.encode() not in blob
    assert password not in server.log_text()


def test_default_cost_is_libsodium_moderate(make_server):
    s = make_server(env={"ORDERD_PASSWORD_COST": "moderate"})
    _, creds = register(s)
    [(stored,)] = s.sql("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$v=19$m=262144,t=3,p=1$")


def test_cli_creates_staff_and_changes_roles(server):
    name = unique("cli")
    email = f"{name}@example.com"
    p = server.cli("user", "create", "--email", email, "--username", name, "--staff", "--password-stdin",
                   input="cli-password-1\n")
    assert p.returncode == 0, p.stderr
    assert unb64(login(server, email, "cli-password-1")["access"].split(".")[1])["role"] == "staff"
    p = server.cli("user", "set-role", email, "customer")
    assert p.returncode == 0, p.stderr
    assert unb64(login(server, email, "cli-password-1")["access"].split(".")[1])["role"] == "customer"
    p = server.cli("user", "set-role", "nobody@example.com", "staff")
    assert p.returncode == 1 and "no user" in p.stderr


def test_cli_reports_validation_errors(server):
    p = server.cli("user", "create", "--email", "bad", "--username", unique(), "--password-stdin", input="123\n")
    assert p.returncode == 1
    assert "email" in p.stderr and "password" in p.stderr


def test_development_without_a_secret_generates_one_and_says_so(make_server):
    s = make_server(env={"ORDERD_JWT_SECRET": ""})
    assert "random one" in s.log_text()
    _, creds = register(s)
    access = login(s, creds["email"], creds["password"])["access"]
    assert s.get("/user/", token=access).status_code == 200
    assert_error(s.get("/user/", token=forge(access_claims(1), key="")), 401, "token_invalid")
