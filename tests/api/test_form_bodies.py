"""HTML form bodies on the old service's routes, as Django REST Framework's default parsers took them
(application/x-www-form-urlencoded from `curl -d` and HTML forms, multipart/form-data from Postman's
form-data and DRF's browsable API): the whole old flow through forms, and what a broken or hostile
form gets."""
import concurrent.futures

import pytest

from conftest import GOOD, assert_error, customer_token, staff_token, unique


@pytest.fixture(scope="module")
def staff(server):
    return staff_token(server)


def as_multipart(fields):
    """requests' `files=` with no file names: text parts, as Postman's form-data sends them."""
    return {name: (None, value) for name, value in fields.items()}


def test_the_old_flow_runs_on_forms_urlencoded_and_multipart(server, staff):
    name = unique()
    creds = {"email": f"{name}@example.com", "username": name, "password": "correct-horse-9"}
    r = server.post("/register/", data=creds)
    assert r.status_code == 201, r.text
    assert r.json()["username"] == name and r.json()["phone_number"] is None
    tokens = server.post("/login/", files=as_multipart({"email": creds["email"], "password": creds["password"]}))
    assert tokens.status_code == 200, tokens.text
    refreshed = server.post("/token/refresh/", data={"refresh": tokens.json()["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    customer = refreshed.json()["access"]

    # A product made with form-data and edited with a urlencoded PATCH: the numbers arrive as text.
    product = server.post("/store/products/", token=staff,
                          files=as_multipart({"name": unique("Form "), "description": "a & b = c",
                                              "price": "12.50", "stock": "7"}))
    assert product.status_code == 201, product.text
    assert product.json()["price"] == "12.50" and product.json()["stock"] == 7
    assert product.json()["description"] == "a & b = c"
    pid = product.json()["id"]
    patched = server.patch(f"/store/products/{pid}/", token=staff, data={"stock": "9", "name": "Form + plus"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["stock"] == 9 and patched.json()["name"] == "Form + plus"
    replaced = server.put(f"/store/products/{pid}/", token=staff,
                          data={"name": "Form put", "description": "", "price": "10", "stock": "9"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["price"] == "10.00"

    # place_order's items are a list, which a form cannot carry: it stays JSON.
    order = server.post("/store/place_order/", token=customer, json={"items": [{"product_id": pid, "quantity": 2}]})
    assert order.status_code == 201, order.text
    order = order.json()
    paid = server.post("/store/make_payment/", token=customer,
                       data={"order_id": str(order["id"]), "amount": order["total_amount"], "card_number": GOOD,
                             "expiry_date": "12/34", "cvv": "123"})
    assert paid.status_code == 200, paid.text
    assert paid.json()["message"] == "Payment successful" and paid.json()["order_data"]["total_amount"] == 20.0
    assert server.get(f"/store/orders/{order['id']}/", token=customer).json()["status"] == "paid"

    out = server.post("/logout/", data={"refresh": refreshed.json()["refresh"]})
    assert out.status_code == 204, out.text
    assert_error(server.post("/token/refresh/", data={"refresh": refreshed.json()["refresh"]}), 401, "token_invalid")


def test_form_values_decode_as_html_forms_encode_them(server):
    name = unique()
    email = f"{name}@example.com"
    body = f"email={email.replace('@', '%40')}&username={name}&password=correct+horse%2B9%26%3D%25"
    r = server.post("/register/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201, r.text
    # '+' was a space, %2B a plus, and the login with the decoded password works through JSON.
    assert server.post("/login/", json={"email": email, "password": "correct horse+9&=%"}).status_code == 200
    # A repeated field counts with its last value, as Django's QueryDict gave it; empty pairs and a
    # stray '%' are taken as browsers' encoders leave them.
    twice = server.post("/login/", data=f"email=nobody%40example.com&&email={email}&password=correct+horse%2B9%26%3D%25",
                        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert twice.status_code == 200, twice.text
    stray = server.post("/login/", data=f"email={email}&password=100%zz",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(stray, 401, "invalid_credentials")


def test_a_multipart_body_as_browsers_write_it(server):
    name = unique()
    body = (f"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n{name}@example.com\r\n"
            f"--XyZ\r\ncontent-disposition: form-data; name=\"username\"\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"\r\n{name}\r\n--XyZ  \r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nline one\r\nline two\r\n"
            f"--XyZ\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"\"\r\n\r\n\r\n"
            f"--XyZ--\r\nepilogue")
    r = server.post("/register/", data=body.encode(), headers={"Content-Type": 'multipart/form-data; boundary="XyZ"'})
    assert r.status_code == 201, r.text
    assert server.post("/login/", json={"email": f"{name}@example.com", "password": "line one\r\nline two"}).status_code == 200


@pytest.mark.parametrize("content_type, body, status, code", [
    ("multipart/form-data", b"--x\r\n\r\na\r\n--x--", 400, "bad_request"),  # no boundary parameter
    ("multipart/form-data; boundary=" + "b" * 71, b"", 400, "bad_request"),  # longer than RFC 2046 allows
    ("multipart/form-data; boundary=x", b"email=a", 400, "bad_request"),  # the boundary never appears
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"e\"", 400, "bad_request"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\nv", 400,
     "bad_request"),  # no closing boundary
    ("multipart/form-data; boundary=x", b"--xjunk", 400, "bad_request"),
    ("application/x-www-form-urlencoded", b"email=%FF%FE&password=x", 400, "validation_error"),
    ("application/x-www-form-urlencoded", b"email=a%00b&password=x", 400, "validation_error"),
    ("application/x-www-form-urlencoded", b"%FF=1", 400, "bad_request"),
    ("multipart/form-data; boundary=x",
     b"--x\r\nContent-Disposition: form-data; name=\"email\"; filename=\"a.txt\"\r\n\r\nx\r\n--x--", 400,
     "validation_error"),
    ("text/plain", b"email=a&password=b", 415, "unsupported_media_type"),
])
def test_a_broken_form_is_a_clear_4xx(server, content_type, body, status, code):
    r = server.post("/login/", data=body, headers={"Content-Type": content_type})
    err = assert_error(r, status, code)
    if code == "validation_error":
        assert err["details"] == {"email": [err["details"]["email"][0]]}, err


def test_a_field_of_a_megabyte_and_a_thousand_fields(server, staff):
    big = server.post("/store/products/", token=staff,
                      data={"name": "x" * (1024 * 1024), "price": "1", "stock": "1"})
    assert_error(big, 413, "payload_too_large")
    long_name = server.post("/store/products/", token=staff,
                            files=as_multipart({"name": "x" * (1024 * 1024 - 400), "price": "1", "stock": "1"}))
    err = assert_error(long_name, 400, "validation_error")
    assert "name" in err["details"] and len(long_name.content) < 2000
    many = "&".join(f"f{i}=1" for i in range(1001))
    r = server.post("/login/", data=many, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 400, "bad_request")
    parts = "".join(f"--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n1\r\n" for i in range(1001))
    r = server.post("/login/", data=(parts + "--b--").encode(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert_error(r, 400, "bad_request")
    # A thousand repeats of one field are one field.
    same = "&".join("email=a%40b.c" for _ in range(5000)) + "&password=x"
    r = server.post("/login/", data=same, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 401, "invalid_credentials")
    assert server.get("/healthz").status_code == 200


def test_new_routes_stay_json_only(server, staff):
    customer = customer_token(server)
    assert_error(server.post("/store/place_order/", token=customer, data={"items": "1"}), 415, "unsupported_media_type")
    assert_error(server.post("/admin/webhooks/", token=staff, data={"url": "https://erp.example.com/"}), 415,
                 "unsupported_media_type")
    assert_error(server.post("/password/reset/", data={"email": "a@b.c"}), 415, "unsupported_media_type")


def test_a_form_payment_sent_twice_at_once_charges_once(server, staff):
    customer = customer_token(server)
    p = server.post("/store/products/", token=staff, json={"name": unique("P"), "price": "5.00", "stock": 10}).json()
    order = server.post("/store/place_order/", token=customer,
                        json={"items": [{"product_id": p["id"], "quantity": 1}]}).json()
    form = {"order_id": str(order["id"]), "amount": "5", "card_number": GOOD, "expiry_date": "12/34", "cvv": "123"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: server.post("/store/make_payment/", token=customer, files=as_multipart(form)),
                                range(8)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 7, [a.text for a in answers]
    rows = server.sql("SELECT status FROM payments WHERE order_id = ?", (order["id"],))
    assert [r[0] for r in rows] == ["succeeded"]
