"""Issue #16, operations: production refuses the mock payment gateway."""
import subprocess

import pytest

from conftest import BIN, TEST_SECRET

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
