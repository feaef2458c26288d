"""Issue #16, operations: production refuses the mock payment gateway, and /metrics needs its token
(or, in production without one, a loopback client)."""
import re
import secrets
import subprocess

import pytest

from conftest import BIN, ROOT, TEST_SECRET, assert_error, customer_token

METRICS_TOKEN = "scrape-token-0123456789abcdef"


def production_env(gateway, **more):
    """What a production node needs besides the harness's defaults (which are for development)."""
    return {"ORDERD_ENV": "production", "ORDERD_PASSWORD_COST": "owasp", "ORDERD_PAYMENT_GATEWAY": gateway.url,
            "ORDERD_JWT_SECRET": secrets.token_hex(32), **more}


# --- 5. the mock gateway in production ----------------------------------------------------------

@pytest.mark.parametrize("gateway", [None, "mock"])
def test_production_refuses_the_mock_payment_gateway(tmp_path, gateway):
    env = {"PATH": "/usr/bin:/bin", "ORDERD_ENV": "production", "ORDERD_JWT_SECRET": secrets.token_hex(32),
           "ORDERD_LISTEN": "127.0.0.1:0", "ORDERD_DATABASE_URL": f"sqlite://{tmp_path / 'p.db'}"}
    if gateway:
        env["ORDERD_PAYMENT_GATEWAY"] = gateway
    try:
        p = subprocess.run([BIN, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("orderd served in production with the mock gateway")
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "payment_gateway" in p.stderr and "ORDERD_PAYMENT_GATEWAY" in p.stderr, p.stderr


@pytest.mark.parametrize("secret", [" " * 32, "a" * 32, "changeme" * 4, TEST_SECRET],
                         ids=["spaces", "one-letter", "repeated-word", "the-test-suites"])
def test_production_refuses_a_secret_anyone_could_guess(tmp_path, secret):
    # Access tokens are checked without a database read: whoever knows the secret signs staff tokens.
    # Production started with each of these (32 bytes was the only rule).
    env = {"PATH": "/usr/bin:/bin", "ORDERD_ENV": "production", "ORDERD_JWT_SECRET": secret,
           "ORDERD_PAYMENT_GATEWAY": "http://127.0.0.1:9", "ORDERD_LISTEN": "127.0.0.1:0",
           "ORDERD_DATABASE_URL": f"sqlite://{tmp_path / 'p.db'}"}
    try:
        p = subprocess.run([BIN, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("orderd served in production with a guessable jwt_secret")
    assert p.returncode == 2, p.stderr
    assert "jwt_secret" in p.stderr and "ORDERD_JWT_SECRET" in p.stderr, p.stderr
    assert secret.strip() == "" or secret not in p.stderr, p.stderr


def test_production_warns_when_card_numbers_go_to_a_gateway_off_the_machine(make_server, mock_gateway):
    # The gateway client speaks plain HTTP (docs/payment-gateway.md). 0.0.0.0 is not loopback by name,
    # yet no packet leaves the machine: the server is only started and stopped, nothing is paid.
    warning = "card numbers cross the network unencrypted"
    assert warning not in make_server(env=production_env(mock_gateway)).log_text()
    far = type("Gateway", (), {"url": "http://0.0.0.0:9"})
    assert warning in make_server(env=production_env(far)).log_text()


# --- 7a. /metrics -------------------------------------------------------------------------------

def test_metrics_token_is_required_when_set(make_server):
    s = make_server(env={"ORDERD_METRICS_TOKEN": METRICS_TOKEN})
    assert_error(s.get("/metrics"), 401, "not_authenticated")
    for wrong in ("Bearer nope", f"Bearer {METRICS_TOKEN}x", f"Bearer {METRICS_TOKEN[:-1]}",
                  f"Basic {METRICS_TOKEN}", METRICS_TOKEN):
        assert_error(s.get("/metrics", headers={"Authorization": wrong}), 401, "not_authenticated")
    # a user's access token is not the metrics token
    assert_error(s.get("/metrics", token=customer_token(s)), 401, "not_authenticated")
    r = s.get("/metrics/", token=METRICS_TOKEN)
    assert r.status_code == 200 and "orderd_http_requests_total" in r.text
    assert s.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"}).status_code == 200
    assert s.get("/healthz").status_code == 200  # only /metrics asks for it


def test_production_without_a_metrics_token_serves_metrics_to_loopback_clients_only(make_server, mock_gateway):
    # The tests send only to 127.0.0.1: a remote client is one that a trusted proxy (here, the test
    # itself on 127.0.0.1) names in X-Forwarded-For, as nginx does for every request it relays.
    s = make_server(env=production_env(mock_gateway, ORDERD_TRUSTED_PROXIES="127.0.0.1/32"))
    assert s.get("/metrics").status_code == 200  # from 127.0.0.1 itself
    relayed = {"X-Forwarded-For": "203.0.113.7"}
    assert_error(s.get("/metrics", headers=relayed), 403, "forbidden")
    # The client writes the left part of the header, the proxy appends the address it saw.
    forged = {"X-Forwarded-For": "127.0.0.1, 203.0.113.7", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    assert_error(s.get("/metrics/", headers=forged), 403, "forbidden")
    assert s.get("/healthz", headers=relayed).status_code == 200


def test_production_with_a_metrics_token_serves_metrics_to_any_client_with_it(make_server, mock_gateway):
    s = make_server(env=production_env(mock_gateway, ORDERD_TRUSTED_PROXIES="127.0.0.1/32",
                                       ORDERD_METRICS_TOKEN=METRICS_TOKEN))
    relayed = {"X-Forwarded-For": "203.0.113.7"}
    r = s.get("/metrics", headers={**relayed, "Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and "orderd_http_requests_total" in r.text
    assert_error(s.get("/metrics", headers=relayed), 401, "not_authenticated")
    assert_error(s.get("/metrics"), 401, "not_authenticated")  # with a token, loopback needs it too


def test_nginx_does_not_forward_metrics():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    blocked = re.search(r"location ~ \^/metrics/\?\$ \{\s*return 404;", conf)
    assert blocked, "deploy/nginx.conf forwards /metrics"
