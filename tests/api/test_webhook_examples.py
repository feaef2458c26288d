"""The receivers of docs/webhooks.md ("Receiving: verify the signature") run exactly as printed there:
each fenced block is read from the markdown at test time, written to a temporary directory and started
(the Python one with /usr/bin/python3, the Node one with node and the `standardwebhooks` package of
tests/webhooks/node_modules) on a free 127.0.0.1 port, with WEBHOOK_SECRET, PORT and HOST in its
environment as the document says. A real orderd then delivers to it, and the test forges deliveries of
its own: a shop that copies an example gets one that takes orderd's deliveries and refuses the rest."""
import base64
import hmac
import os
import pathlib
import re
import secrets
import shutil
import socket
import subprocess
import time

import pytest
import requests

from conftest import ROOT, TIMEOUT, customer_token, place, staff_token, unique, wait_until

DOC = ROOT / "docs" / "webhooks.md"
NODE_MODULES = ROOT / "tests" / "webhooks" / "node_modules"
LANGUAGES = {"python": "python", "js": "node"}  # the fence's language -> how the example runs
# One quick retry: a delivery the receiver refuses ends `failed` within the test.
HOOKS = {"ORDERD_WEBHOOK_ALLOW_PRIVATE": "true", "ORDERD_WEBHOOK_RETRY_SCHEDULE": "100ms"}


def examples():
    """The receivers' code blocks of docs/webhooks.md, by runtime: {"python": code, "node": code}."""
    text = DOC.read_text()
    start = text.index("## Receiving: verify the signature\n")
    section = text[start:text.index("\n## ", start + 1)]
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", section, re.M | re.S)
    found = {}
    for fence, code in blocks:
        assert fence in LANGUAGES, f"an unexpected {fence} block in docs/webhooks.md's receivers"
        assert LANGUAGES[fence] not in found, f"two {fence} receivers in docs/webhooks.md"
        found[LANGUAGES[fence]] = code
    assert set(found) == {"python", "node"}, f"docs/webhooks.md's receivers: {sorted(found)}"
    return found


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret, msg_id, timestamp, body):
    """A webhook-signature entry as Standard Webhooks defines it, computed here, not by orderd."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, "sha256")
    return "v1," + base64.b64encode(mac).decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Example:
    """One receiver example of docs/webhooks.md, running on 127.0.0.1:`port` with `secret`."""

    def __init__(self, runtime, workdir: pathlib.Path, secret, port=None):
        code = examples()[runtime]
        workdir.mkdir(parents=True, exist_ok=True)
        if runtime == "node":
            if shutil.which("node") is None:
                pytest.skip("the Node receiver example needs node on PATH")
            if not (NODE_MODULES / "standardwebhooks").exists():
                pytest.skip("the Node receiver example needs the standardwebhooks package: "
                            "run npm ci --prefix tests/webhooks (make api-test does)")
            # An ES module's imports ignore NODE_PATH: they look in node_modules beside the file and above.
            (workdir / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
            script, command = workdir / "receiver.mjs", ["node"]
        else:
            script, command = workdir / "receiver.py", ["/usr/bin/python3"]
        script.write_text(code)
        self.port = port or free_port()
        self.stdout_path, self.stderr_path = workdir / "stdout.txt", workdir / "stderr.txt"
        env = {**os.environ, "WEBHOOK_SECRET": secret, "PORT": str(self.port), "HOST": "127.0.0.1",
               "PYTHONUNBUFFERED": "1"}
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([*command, str(script)], cwd=workdir, env=env, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        try:
            wait_until(self._listening, timeout=20, what=f"the {runtime} example listening on {self.port}")
        except BaseException:
            self.stop()
            raise

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"the example exited with {self.proc.returncode}:\n{self.stderr()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def printed(self):
        """What the example printed: one line per delivery it processed."""
        return self.stdout_path.read_text().splitlines()

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def post(self, body, headers):
        try:
            return requests.post(self.url + "/hooks", data=body, headers=headers, timeout=TIMEOUT)
        except requests.ConnectionError as e:  # an exception in the handler: no answer at all
            raise AssertionError(f"the example did not answer ({e}):\n{self.stderr()[-3000:]}") from e

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def start_example(tmp_path):
    """Factory: start_example(runtime, secret, port=None) -> a running Example, stopped afterwards."""
    started = []

    def start(runtime, secret, port=None):
        example = Example(runtime, tmp_path / f"{runtime}{len(started)}", secret, port)
        started.append(example)
        return example

    yield start
    for example in started:
        example.stop()


def deliveries(server, staff, endpoint):
    r = server.get(f"/admin/webhooks/{endpoint['id']}/deliveries/?page_size=100", token=staff)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def finished(server, staff, endpoint, count):
    """Waits until `endpoint` has `count` deliveries, all succeeded or failed; returns them, newest first."""
    def done():
        rows = deliveries(server, staff, endpoint)
        return rows if len(rows) >= count and all(r["status"] in ("succeeded", "failed") for r in rows) else None
    return wait_until(done, timeout=30, what=f"{count} finished deliveries to {endpoint['url']}")


def test_each_receiver_example_is_at_most_20_lines():
    for runtime, code in examples().items():
        assert len(code.splitlines()) <= 20, f"the {runtime} receiver is {len(code.splitlines())} lines"


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_the_example_takes_orderds_deliveries_and_refuses_another_endpoints(runtime, make_server, start_example):
    s = make_server(env=HOOKS)
    staff = staff_token(s)
    port = free_port()
    endpoints = {}
    for path in ("/known", "/stranger"):
        r = s.post("/admin/webhooks/", token=staff,
                   json={"url": f"http://127.0.0.1:{port}{path}", "events": ["order.placed"]})
        assert r.status_code == 201, r.text
        endpoints[path] = r.json()
    known, stranger = endpoints["/known"], endpoints["/stranger"]
    assert known["secret"] != stranger["secret"]
    example = start_example(runtime, known["secret"], port)  # it knows /known's secret only

    r = s.post("/store/products/", token=staff, json={"name": unique("P"), "price": "10.00", "stock": 10})
    assert r.status_code == 201, r.text
    product = r.json()
    customer = customer_token(s)
    place(s, customer, product_id=product["id"], expect=201)

    [ok] = finished(s, staff, known, 1)
    assert (ok["event"], ok["status"], ok["status_code"], ok["attempts"]) == ("order.placed", "succeeded", 204, 1), ok
    assert wait_until(example.printed, what="the example's line") == [f"order.placed {ok['webhook_id']}"]
    # The same event, signed with a secret the example does not know: refused on every attempt.
    [refused] = finished(s, staff, stranger, 1)
    assert refused["webhook_id"] == ok["webhook_id"]
    assert (refused["status"], refused["status_code"], refused["attempts"]) == ("failed", 400, 2), refused

    # After a rotation both secrets sign, the new one first: the example, still on the old one, checks each.
    r = s.post(f"/admin/webhooks/{known['id']}/rotate_secret/", token=staff)
    assert r.status_code == 200, r.text
    assert r.json()["secret"] != known["secret"]
    place(s, customer, product_id=product["id"], expect=201)
    latest = finished(s, staff, known, 2)[0]
    assert (latest["status"], latest["status_code"]) == ("succeeded", 204), latest
    assert wait_until(lambda: len(example.printed()) == 2 and example.printed(), what="a second line") == [
        f"order.placed {ok['webhook_id']}", f"order.placed {latest['webhook_id']}"]
    assert example.running(), example.stderr()


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_the_example_refuses_forged_deliveries(runtime, start_example):
    secret = new_secret()
    example = start_example(runtime, secret)
    body = b'{"type":"order.paid","timestamp":"2026-12-02T02:00:00.000000Z","data":{"id":17,"status":"paid"}}'
    now = str(int(time.time()))

    def headers(msg_id, timestamp=now, signature=None):
        return {"Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": timestamp,
                "webhook-signature": sign(secret, msg_id, timestamp, body) if signature is None else signature}

    # Genuine: a delivery signed as Standard Webhooks says is taken, and its retry is taken but not processed again.
    assert example.post(body, headers("msg_genuine")).status_code == 204
    assert example.post(body, headers("msg_genuine")).status_code == 204
    # One signature of several may match (a rotation).
    other = sign(new_secret(), "msg_rotated", now, body)
    assert example.post(body, headers("msg_rotated", signature=f"{other} {sign(secret, 'msg_rotated', now, body)}")
                        ).status_code == 204

    stale, early = str(int(time.time()) - 600), str(int(time.time()) + 600)
    forged = {
        "another secret": (body, headers("f1", signature=sign(new_secret(), "f1", now, body))),
        "a changed body": (body.replace(b"17", b"18"), headers("f2")),
        "another id": (body, headers("f3", signature=sign(secret, "f2", now, body))),
        "a signature of another timestamp": (body, headers("f4", signature=sign(secret, "f4", stale, body))),
        "a timestamp 10 minutes old": (body, headers("f5", timestamp=stale)),
        "a timestamp 10 minutes ahead": (body, headers("f6", timestamp=early)),
        "not a timestamp": (body, headers("f7", timestamp="soon")),
        "a non-ASCII signature": (body, headers("f8", signature="v1,\u00e9t\u00e9")),
        "an empty signature": (body, headers("f9", signature="")),
        "a bare version": (body, headers("f11", signature="v1,")),
        "no webhook headers": (body, {"Content-Type": "application/json"}),
        "no signature header": (body, {k: v for k, v in headers("f10").items() if k != "webhook-signature"}),
    }
    for what, (forged_body, forged_headers) in forged.items():
        r = example.post(forged_body, forged_headers)
        assert 400 <= r.status_code < 500, f"{what}: {r.status_code}"

    assert example.running(), example.stderr()
    assert example.post(body, headers("msg_after")).status_code == 204  # still answering
    assert example.printed() == ["order.paid msg_genuine", "order.paid msg_rotated", "order.paid msg_after"]
