"""Browser tests: real Chromium (Playwright) against Django's live server. The browser set-up
(Chromium, viewport, screenshots, the print spy) is in tests/conftest.py, shared with the
supervisors' browser tests."""

import socketserver
import threading

import pytest


class _Printer(socketserver.BaseRequestHandler):
    def handle(self):
        chunks = []
        self.request.settimeout(5)
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            chunks.append(data)
        self.server.jobs.append(b"".join(chunks))


@pytest.fixture
def label_printer():
    """A listening socket standing in for the station's Zebra printer; `.jobs` holds what it got."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Printer)
    server.daemon_threads = True
    server.jobs = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
