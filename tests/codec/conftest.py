"""Fixtures shared by the codec tests: sample messages and a local HTTP server that records fetches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from transactive.codec import encode_json, encode_xml
from transactive.model.base import Model

from .samples import distribute_event


@pytest.fixture
def event() -> Model:
    """One realistic oadrDistributeEvent."""
    return distribute_event()


@pytest.fixture
def event_xml(event: Model) -> bytes:
    return encode_xml(event)


@pytest.fixture
def event_json(event: Model) -> bytes:
    return encode_json(event)


class FetchRecorder:
    """A local HTTP server: every request a parser makes to it is recorded (and answered with a DTD
    that would define entities, so a fetch would also change the parse)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.requests.append(self.path)
                body = b'<!ENTITY % leak "LEAKED-BY-NETWORK"><!ENTITY fetched "FETCHED-BY-NETWORK">'
                self.send_response(200)
                self.send_header("Content-Type", "application/xml-dtd")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FetchRecorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def fetch_recorder() -> Iterator[FetchRecorder]:
    with FetchRecorder() as recorder:
        yield recorder
