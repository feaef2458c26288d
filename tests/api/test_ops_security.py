"""Issue #16, operations: production refuses the mock payment gateway, and /metrics needs its token
(or, in production without one, a loopback peer)."""
import re
import socket
import subprocess

import pytest
import requests

from conftest import BIN, ROOT, TEST_SECRET, TIMEOUT, assert_error, customer_token

METRICS_TOKEN = "scrape-token-0123456789abcdef"


def production_env(gateway, **more):
    """What a production node needs besides the harness's defaults (which are for development)."""
    return {"ORDERD_ENV": "production", "ORDERD_PASSWORD_COST": "owasp", "ORDERD_PAYMENT_GATEWAY": gateway.url,
            **more}


def non_loopback_address():
    """An IPv4 address of this machine outside 127/8, or None. Connecting to it never leaves the
    machine, but the server sees a peer that is not loopback. (A UDP connect sends nothing: it only
    makes the kernel choose the source address.)"""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


# --- 5. the mock gateway in production ----------------------------------------------------------

@pytest.mark.parametrize("gateway", [None, "mock"])
def test_production_refuses_the_mock_payment_gateway(tmp_path, gateway):
    env = {"PATH": "/usr/bin:/bin", "ORDERD_ENV": "production", "ORDERD_JWT_SECRET": TEST_SECRET,
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


def test_production_without_a_metrics_token_serves_metrics_to_loopback_peers_only(make_server, mock_gateway):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address outside 127/8 to connect from")
    s = make_server(env=production_env(mock_gateway, ORDERD_LISTEN="0.0.0.0:0"))
    assert s.get("/metrics").status_code == 200  # from 127.0.0.1
    remote = f"http://{address}:{s.port}"
    assert_error(requests.get(remote + "/metrics", timeout=TIMEOUT), 403, "forbidden")
    # The TCP peer decides, not a header the client writes.
    forged = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    assert_error(requests.get(remote + "/metrics/", headers=forged, timeout=TIMEOUT), 403, "forbidden")
    assert requests.get(remote + "/healthz", timeout=TIMEOUT).status_code == 200


def test_production_with_a_metrics_token_serves_metrics_to_any_peer_with_it(make_server, mock_gateway):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address outside 127/8 to connect from")
    s = make_server(env=production_env(mock_gateway, ORDERD_LISTEN="0.0.0.0:0", ORDERD_METRICS_TOKEN=METRICS_TOKEN))
    remote = f"http://{address}:{s.port}/metrics"
    r = requests.get(remote, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=TIMEOUT)
    assert r.status_code == 200 and "orderd_http_requests_total" in r.text
    assert_error(requests.get(remote, timeout=TIMEOUT), 401, "not_authenticated")
    assert_error(s.get("/metrics"), 401, "not_authenticated")  # with a token, loopback needs it too


def test_nginx_does_not_forward_metrics():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    blocked = re.search(r"location ~ \^/metrics/\?\$ \{\s*return 404;", conf)
    assert blocked, "deploy/nginx.conf forwards /metrics"
