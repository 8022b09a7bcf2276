"""Label and invoice sources that misbehave, as real HTTP servers on port 0.

`HostileAmazon` stands between Packbench and the sandbox: it passes every request on (with its own
Host header, so the label links the sandbox hands out point back at it) and, where a test says,
answers a label download itself (`label`) or rewrites Amazon's JSON on the way back (`rewrite`).
So a label link can be made to drip, never end, be a web page, redirect in a loop, or point at
loopback, private and link-local addresses, and an invoice can be a bomb, while the rest of the
shipment's life is the sandbox's own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}


class HostileAmazon:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.http = httpx.Client(base_url=self.upstream, timeout=30)
        self.label: Callable[[BaseHTTPRequestHandler], None] | None = None  # answers label downloads
        self.api: Callable[[BaseHTTPRequestHandler], None] | None = None  # answers SP-API calls
        self.rewrite: dict[str, Callable[[dict], dict]] = {}  # "shipLabels" / "invoice" -> new JSON
        self.label_requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.hostile = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    # --- What a label download gets ----------------------------------------------------------------

    def serve_label(self, behaviour: Callable[[BaseHTTPRequestHandler], None] | None) -> None:
        self.label = behaviour

    def label_links_to(self, url: str | Callable[[str], str]) -> None:
        """generateShipLabels hands out `url` (or `url(original)`) as every label's link."""

        def swap(answer: dict) -> dict:
            for label in answer.get("packageShipLabelList") or []:
                if label.get("fileData"):
                    original = label["fileData"]["url"]
                    label["fileData"]["url"] = url(original) if callable(url) else url
            return answer

        self.rewrite["shipLabels"] = swap

    def invoice_is(self, content: str, format_: str = "PDF") -> None:
        """generateInvoice and retrieveInvoice answer with this document."""
        self.rewrite["invoice"] = lambda answer: {**answer, "document": {"format": format_, "content": content}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, *args):  # quiet
        pass

    def _forward(self):
        hostile: HostileAmazon = self.server.hostile
        if self.path.startswith("/_sandbox/labels/"):
            hostile.label_requests.append(self.path)
            if hostile.label is not None:
                self.close_connection = True
                try:
                    hostile.label(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        if hostile.api is not None and self.path.startswith("/externalFulfillment/"):
            self.close_connection = True
            try:
                hostile.api(self)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        headers["Host"] = self.headers.get("host", "")  # label links come back to us
        answer = hostile.http.request(self.command, self.path, content=body, headers=headers)
        content = answer.content
        kind = self.path.split("?")[0].rsplit("/", 1)[-1]
        if kind in hostile.rewrite and answer.is_success and content:
            content = json.dumps(hostile.rewrite[kind](json.loads(content))).encode()
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


# --- Label behaviours ----------------------------------------------------------------------------------


def answer(body: bytes, content_type: str, status: int = 200, **headers) -> Callable:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            handler.send_header(key.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return behave


def drip(every: float = 0.5, declared: int = 10_000) -> Callable:
    """A label that arrives one byte at a time, for as long as anyone listens."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "x.application/zpl")
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(declared):
            handler.wfile.write(b"^")
            handler.wfile.flush()
            time.sleep(every)

    return behave


def endless(declare: int | None = None) -> Callable:
    """A body that never ends (chunked), or one that says it is `declare` bytes long."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/pdf")
        if declare is not None:
            handler.send_header("Content-Length", str(declare))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        block = b"%PDF-1.4 " + b"0" * 65_527
        for _ in range(100_000):  # 6.5 GB, far past any cap
            handler.wfile.write(block if declare is not None else b"%x\r\n%s\r\n" % (len(block), block))

    return behave


def redirect(to: str | Callable[[BaseHTTPRequestHandler], str], status: int = 302) -> Callable:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", to(handler) if callable(to) else to)
        handler.send_header("Content-Length", "0")
        # Said, not only done: a client that reused the connection the handler closes would see it drop
        # (a busy machine turned the loop into "cannot reach Amazon").
        handler.send_header("Connection", "close")
        handler.end_headers()

    return behave


class Listener:
    """A raw TCP port that counts the connections it gets (a printer's 9100, say) and reads nothing."""

    def __init__(self):
        import socket

        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self):
        self.socket.close()
