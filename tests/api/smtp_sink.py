"""A real SMTP server for tests (Debian's python3-aiosmtpd) that keeps what it receives.

As a library (the `smtp_sink` fixture in conftest.py):

    sink = SmtpSink().start()          # 127.0.0.1, a free port: sink.port, sink.url
    sink.wait_for(1, timeout=10)       # -> list of Received, polls without fixed sleeps
    sink.stop(); sink.start()          # the same port again (a mail server going down and back)
    sink.reject_with = "451 4.3.0 try later"   # answer DATA with an error instead of accepting
    sink.hang = True                   # take the whole message, then never answer it (until cleared)
    sink.drop_mid_message = True       # close the connection after the first line of the message
    sink.hung, sink.dropped            # how many deliveries each fault has swallowed

As a program (used by the C++ unit tests, which need a real server to talk to):

    python3 smtp_sink.py DIR           # prints "PORT\n", writes DIR/<n>.json per message, stops on SIGTERM
"""
import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    raw: bytes
    message: email.message.EmailMessage

    def header(self, name):
        return self.message[name]

    def body(self, subtype):
        """The decoded text/<subtype> part ("plain" or "html")."""
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else None

    def summary(self):
        m = self.message
        return {
            "mail_from": self.mail_from,
            "rcpt_tos": self.rcpt_tos,
            "from": str(m["From"]),
            "to": str(m["To"]),
            "subject": str(m["Subject"]),
            "date": str(m["Date"]),
            "message_id": str(m["Message-ID"]),
            "mime_version": str(m["MIME-Version"]),
            "content_type": m.get_content_type(),
            "parts": [p.get_content_type() for p in m.iter_parts()] if m.is_multipart() else [],
            "text": self.body("plain"),
            "html": self.body("html"),
        }


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.reject_with:
            return self.sink.reject_with
        if self.sink.hang:
            # The message is in, the client waits for its verdict: give none while the fault lasts or
            # until the client gives up. What was swallowed is refused, never delivered.
            with self.sink._lock:
                self.sink.hung += 1
            while self.sink.hang and server.transport is not None and not server.transport.is_closing():
                await asyncio.sleep(0.05)
            return "451 4.3.0 this delivery was hanging; send it again"
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message)
        with self.sink._lock:
            self.sink.messages.append(received)
        if self.sink.on_message:
            self.sink.on_message(received)
        return "250 2.0.0 OK"


class _SinkSMTP(SMTP):
    """aiosmtpd's server, plus the fault of a connection dropped in the middle of a message."""

    def __init__(self, handler, sink, **kw):
        super().__init__(handler, **kw)
        self.sink = sink

    async def smtp_DATA(self, arg):
        if not self.sink.drop_mid_message or not self.envelope.rcpt_tos or arg:
            return await super().smtp_DATA(arg)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")  # the first line of the message, then the line goes dead
        with self.sink._lock:
            self.sink.dropped += 1
        self.transport.abort()


class _Controller(Controller):
    def __init__(self, sink, **kw):
        self.sink = sink
        super().__init__(_Handler(sink), **kw)

    def factory(self):
        return _SinkSMTP(self.handler, self.sink, **self.SMTP_kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    def __init__(self, port=None, on_message=None):
        self.port = port or free_port()
        self.messages = []
        self.reject_with = None
        self.hang = False
        self.drop_mid_message = False
        self.hung = 0
        self.dropped = 0
        self.on_message = on_message
        self._lock = threading.Lock()
        self._controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        """Starts listening (again) on the same port."""
        deadline = time.monotonic() + 10
        while True:
            try:
                self._controller = _Controller(self, hostname="127.0.0.1", port=self.port)
                self._controller.start()
                return self
            except OSError:  # the port is still in TIME_WAIT from the previous run: retry briefly
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self):
        return self._controller is not None

    def received(self):
        with self._lock:
            return list(self.messages)

    def wait_for(self, count, timeout=10.0):
        """Waits until at least `count` messages arrived; fails the test with what did arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        got = self.received()
        raise AssertionError(f"expected {count} messages within {timeout}s, got {len(got)}: "
                             f"{[m.header('Subject') for m in got]}")


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    counter = iter(range(1, 1_000_000))

    def save(received):
        path = os.path.join(out_dir, f"{next(counter)}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(received.summary(), f)
        os.replace(path + ".tmp", path)

    sink = SmtpSink(on_message=save).start()
    print(sink.port, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait(timeout=300)  # never outlive a forgotten test by much
    sink.stop()


if __name__ == "__main__":
    main(sys.argv[1])
