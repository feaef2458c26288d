"""`orderd mock-gateway`: the payment gateway protocol of docs/payment-gateway.md with Stripe's test cards."""
import subprocess
import time
import uuid

import pytest

from conftest import BIN, MockGateway

DECLINES = [
    ("4000000000000002", "card_declined"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000000069", "expired_card"),
    ("4000000000000127", "incorrect_cvc"),
    ("4242424242424241", "incorrect_number"),  # fails the Luhn check
]


def key():
    return f"test-{uuid.uuid4().hex}"


def test_an_approved_charge(mock_gateway):
    r = mock_gateway.charge(key(), amount=13000)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"].startswith("ch_")
    assert body["status"] == "succeeded"
    assert body["amount"] == 13000
    assert body["currency"] == "usd"
    assert body["card"] == {"brand": "visa", "last4": "4242"}


@pytest.mark.parametrize("number,code", DECLINES)
def test_each_declining_card(mock_gateway, number, code):
    r = mock_gateway.charge(key(), number=number)
    assert r.status_code == 402, r.text
    body = r.json()
    assert body["status"] == "failed"
    assert body["decline_code"] == code
    assert body["id"].startswith("ch_")
    assert body["message"]


def test_an_expiry_in_the_past_is_expired_card(mock_gateway):
    r = mock_gateway.charge(key(), exp_month=1, exp_year=2020)
    assert r.status_code == 402, r.text
    assert r.json()["decline_code"] == "expired_card"


def test_the_processing_error_card_is_503_and_not_charged(mock_gateway):
    k = key()
    r = mock_gateway.charge(k, number="4000000000000119")
    assert r.status_code == 503, r.text
    assert r.json()["decline_code"] == "processing_error"
    assert mock_gateway.find(k).status_code == 404


def test_a_replayed_key_returns_the_first_charge(mock_gateway):
    k = key()
    first = mock_gateway.charge(k)
    again = mock_gateway.charge(k)
    assert again.status_code == 200
    assert again.json() == first.json()
    declined_key = key()
    declined = mock_gateway.charge(declined_key, number="4000000000000002")
    assert mock_gateway.charge(declined_key, number="4000000000000002").json() == declined.json()


def test_a_key_reused_with_another_body_is_409(mock_gateway):
    k = key()
    assert mock_gateway.charge(k, amount=100).status_code == 200
    r = mock_gateway.charge(k, amount=200)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "idempotency_conflict"


def test_get_by_key_returns_the_stored_result(mock_gateway):
    approved, declined = key(), key()
    charged = mock_gateway.charge(approved).json()
    refused = mock_gateway.charge(declined, number="4000000000009995").json()
    r = mock_gateway.find(approved)
    assert r.status_code == 200
    assert r.json() == charged
    r = mock_gateway.find(declined)
    assert r.status_code == 402
    assert r.json() == refused


def test_keys_with_reserved_characters_round_trip(mock_gateway):
    k = "order/7 attempt?#1"
    charged = mock_gateway.charge(k).json()
    assert mock_gateway.find(k).json()["id"] == charged["id"]


def test_an_unknown_key_is_404(mock_gateway):
    r = mock_gateway.find(key())
    assert r.status_code == 404
    assert r.json()["code"] == "charge_not_found"


@pytest.mark.parametrize("mutate", [
    lambda b: b.pop("amount"),
    lambda b: b.update(amount="130.00"),
    lambda b: b.update(amount=-5),
    lambda b: b.update(currency="US Dollar"),
    lambda b: b.pop("card"),
    lambda b: b["card"].update(number="4242"),
    lambda b: b["card"].update(exp_month=13),
    lambda b: b["card"].update(exp_year=25),
    lambda b: b["card"].update(cvc="12"),
])
def test_a_malformed_charge_is_400(mock_gateway, mutate):
    body = {"amount": 13000, "currency": "usd",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}}
    mutate(body)
    r = mock_gateway.http.post(mock_gateway.url + "/v1/charges", json=body, headers={"Idempotency-Key": key()},
                               timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "validation_error"
    assert "4242424242424242" not in r.text


def test_a_body_that_is_not_json_is_400(mock_gateway):
    r = mock_gateway.http.post(mock_gateway.url + "/v1/charges", data=b"{not json",
                               headers={"Idempotency-Key": key(), "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "x" * 256}])
def test_the_idempotency_key_is_required(mock_gateway, headers):
    body = {"amount": 100, "currency": "usd",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}}
    r = mock_gateway.http.post(mock_gateway.url + "/v1/charges", json=body, headers=headers, timeout=10)
    assert r.status_code == 400, r.text


def test_card_data_never_reaches_the_log(mock_gateway):
    mock_gateway.charge(key(), number="5555555555554444", cvc="987")
    mock_gateway.charge(key(), number="4000000000000119", cvc="987")
    mock_gateway.charge(key(), number="1234567812345678", cvc="987")
    log = mock_gateway.log_text()
    for secret in ("5555555555554444", "4000000000000119", "1234567812345678", "cvc"):
        assert secret not in log  # (a 3-digit CVC itself could occur by chance in a timestamp)


def test_latency_delays_each_charge(tmp_path):
    gateway = MockGateway(tmp_path, args=["--latency", "300ms"]).start()
    try:
        started = time.monotonic()
        assert gateway.charge(key()).status_code == 200
        assert time.monotonic() - started >= 0.3
    finally:
        assert gateway.stop() == 0


@pytest.mark.parametrize("flag,value", [("--listen", "nowhere"), ("--listen", "127.0.0.1:99999"),
                                        ("--latency", "200"), ("--latency", "soon")])
def test_bad_flags_are_refused_with_exit_code_2(flag, value):
    p = subprocess.run([BIN, "mock-gateway", flag, value], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    assert flag in p.stderr
