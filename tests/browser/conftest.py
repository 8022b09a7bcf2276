"""Browser tests: real Chromium (Playwright) against Django's live server.

Playwright's sync API keeps an event loop running in the test thread, so Django's ORM would
refuse to run there; the tests only use the ORM to set up data and read results.
"""

import os
import socketserver
import threading
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "screenshots"
VIEWPORTS = {"1366x768": {"width": 1366, "height": 768}, "1920x1080": {"width": 1920, "height": 1080}}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        # Playwright's wait_for_function evaluates strings, which our CSP forbids; tests/test_csp_browser.py
        # checks the pages under the real policy.
        "bypass_csp": True,
        "viewport": VIEWPORTS["1366x768"]}


@pytest.fixture
def print_spy(page):
    """Headless Chromium crashes on a PDF frame's print(): record what would be printed instead."""
    page.add_init_script("window.packbenchPrintFrame = function (frame) {"
                         " (window.__printed = window.__printed || []).push(frame.getAttribute('src')); };")
    return lambda: page.evaluate("window.__printed || []")


@pytest.fixture
def shoot(page):
    """Screenshot the current screen at both station resolutions (screenshots/<name>-<size>.png)."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name):
        for size, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            page.wait_for_timeout(150)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"))
        page.set_viewport_size(VIEWPORTS["1366x768"])

    return take


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
