"""Issue #16 item 7d: the refresh_tokens table stays bounded. Rotation keeps a family at a few rows,
reuse detection still catches a token rotated long ago, and the sweeper deletes expired and revoked
tokens. Rows are counted straight from the database (Server.sql, SQLite or PostgreSQL)."""
import base64
import json

from conftest import assert_error, login, register, wait_until

MOST_ROWS_PER_FAMILY = 4  # the live token and the last three used ones (auth::kUsedRefreshKept)


def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def refresh(server, token):
    r = server.post("/token/refresh/", json={"refresh": token})
    assert r.status_code == 200, r.text
    return r.json()["refresh"]


def rows(server, where, *params):
    return server.sql(f"SELECT COUNT(*) FROM refresh_tokens WHERE {where}", params)[0][0]


def test_refresh_in_a_loop_keeps_the_family_bounded(server):
    user, creds = register(server)
    token = login(server, creds["email"], creds["password"])["refresh"]
    family = claims(token)["fam"]
    for _ in range(200):
        token = refresh(server, token)
        assert rows(server, "family = ?", family) <= MOST_ROWS_PER_FAMILY
    assert rows(server, "user_id = ?", user["id"]) <= MOST_ROWS_PER_FAMILY
    assert rows(server, "family = ? AND used_at IS NULL AND revoked_at IS NULL", family) == 1
    assert server.post("/token/refresh/", json={"refresh": token}).status_code == 200


def test_refresh_reuse_of_a_token_rotated_long_ago_still_revokes_the_family(server):
    _, creds = register(server)
    first = login(server, creds["email"], creds["password"])["refresh"]
    token = first
    for _ in range(MOST_ROWS_PER_FAMILY + 6):
        token = refresh(server, token)
    assert rows(server, "jti = ?", claims(first)["jti"]) == 0  # its row was trimmed away
    # The thief replays the first token: refused, and the family ends, the newest token included.
    assert_error(server.post("/token/refresh/", json={"refresh": first}), 401, "token_invalid")
    assert_error(server.post("/token/refresh/", json={"refresh": token}), 401, "token_invalid")
    # A recently rotated one is caught the same way (its row is still there, marked used).
    second = login(server, creds["email"], creds["password"])["refresh"]
    newer = refresh(server, refresh(server, second))
    assert_error(server.post("/token/refresh/", json={"refresh": second}), 401, "token_invalid")
    assert_error(server.post("/token/refresh/", json={"refresh": newer}), 401, "token_invalid")


def test_refresh_tokens_expired_or_revoked_are_purged_by_the_sweeper(make_server):
    s = make_server(env={"ORDERD_REFRESH_TTL": "2s", "ORDERD_SWEEP_INTERVAL": "100ms"})
    expiring, creds = register(s)
    token = login(s, creds["email"], creds["password"])["refresh"]
    for _ in range(3):
        token = refresh(s, token)  # used rows, and one live one, all expiring within 2 s
    assert rows(s, "user_id = ?", expiring["id"]) >= 2
    logged_out, creds = register(s)
    other = login(s, creds["email"], creds["password"])["refresh"]
    assert s.post("/logout/", json={"refresh": other}).status_code == 204
    wait_until(lambda: rows(s, "user_id = ?", logged_out["id"]) == 0)
    wait_until(lambda: rows(s, "user_id = ?", expiring["id"]) == 0)
    # Purged tokens stay refused (by now also expired).
    assert s.post("/token/refresh/", json={"refresh": other}).status_code == 401


def test_an_account_holds_at_most_100_sessions_and_a_login_beyond_ends_the_oldest(server):
    # 400 logins of one account left 400 live sessions, each kept for refresh_ttl (an audit).
    _, creds = register(server)
    sessions = [login(server, creds["email"], creds["password"]) for _ in range(103)]
    user = server.get("/user/", token=sessions[-1]["access"]).json()["id"]
    assert rows(server, "user_id = ? AND used_at IS NULL AND revoked_at IS NULL", user) == 100
    for oldest in sessions[:3]:
        assert_error(server.post("/token/refresh/", json={"refresh": oldest["refresh"]}), 401, "token_invalid")
    assert refresh(server, sessions[3]["refresh"])
    assert refresh(server, sessions[-1]["refresh"])
