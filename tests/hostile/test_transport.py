"""The bounded transport and the label link rules on their own, against raw sockets on port 0:
every exchange ends by its deadline however the bytes trickle, no answer is read past its cap, and
the rules say which links are followed in production and in development."""

import socket
import threading
import time

import httpx
import pytest

from fulfillment.amazon.label_links import LabelLinkPolicy
from fulfillment.amazon.transport import (
    AddressGuard,
    AddressRefused,
    BoundedTransport,
    ResponseTooLarge,
    deadline_at,
)


def serve(handle) -> int:
    """A raw TCP server on port 0 that runs `handle(connection)` for each connection."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept():
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=_run, args=(handle, connection), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def _run(handle, connection):
    with connection:
        try:
            connection.recv(65536)
            handle(connection)
        except OSError:
            pass


def body_drip(connection):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        connection.sendall(b"x")
        time.sleep(0.2)


def header_drip(connection):
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
        connection.sendall(bytes([byte]))
        time.sleep(0.2)


def silent(connection):
    time.sleep(30)


def endless_chunks(connection):
    connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:
        connection.sendall(b"10000\r\n" + b"y" * 0x10000 + b"\r\n")


def lying_length(connection):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + b"z" * 5_000_000)


def big_declared(connection):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n")
    time.sleep(5)


def bounded(total=1.0, max_bytes=100_000, guard=None) -> httpx.Client:
    # Per-operation timeouts far longer than the deadline: only the deadline can end these.
    return httpx.Client(transport=BoundedTransport(total_seconds=total, max_bytes=max_bytes, guard=guard), timeout=30)


@pytest.mark.parametrize("server", [body_drip, header_drip, silent], ids=["body-drip", "header-drip", "silent"])
def test_a_slow_server_is_cut_off_at_the_deadline(server):
    port = serve(server)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        bounded(total=1.0).get(f"http://127.0.0.1:{port}/")
    assert 0.9 < time.monotonic() - started < 1.8


def test_a_callers_earlier_deadline_wins():
    port = serve(body_drip)
    started = time.monotonic()
    with deadline_at(time.monotonic() + 0.5), pytest.raises(httpx.TimeoutException):
        bounded(total=10).get(f"http://127.0.0.1:{port}/")
    assert time.monotonic() - started < 1.2


@pytest.mark.parametrize("server", [endless_chunks, big_declared], ids=["endless-chunks", "declares-1GB"])
def test_an_answer_past_the_cap_is_not_read(server):
    port = serve(server)
    started = time.monotonic()
    with pytest.raises(ResponseTooLarge):
        bounded(total=10, max_bytes=1_000_000).get(f"http://127.0.0.1:{port}/")
    assert time.monotonic() - started < 2


def test_a_length_that_lies_reads_no_more_than_it_says():
    port = serve(lying_length)
    assert bounded(total=5).get(f"http://127.0.0.1:{port}/").content == b"z" * 10


def test_a_well_behaved_answer_passes_whole():
    body = b"^XA^FDok^FS^XZ" * 1000
    port = serve(lambda c: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)))
    assert bounded(total=5, max_bytes=len(body)).get(f"http://127.0.0.1:{port}/").content == body


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.8", "172.16.4.4", "192.168.1.10",
                                  "169.254.169.254", "100.64.0.1", "0.0.0.0", "[::ffff:127.0.0.1]", "[fd00::1]"])
def test_the_guard_never_connects_inside_our_network(host):
    port = serve(lambda c: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"))
    with pytest.raises(AddressRefused):
        bounded(guard=AddressGuard()).get(f"http://{host}:{port}/")


def test_the_guard_lets_the_exempt_sandbox_origin_through_and_nothing_beside_it():
    port = serve(lambda c: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    other = serve(lambda c: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"))
    guard = AddressGuard(frozenset({("127.0.0.1", port)}))
    assert bounded(guard=guard).get(f"http://127.0.0.1:{port}/").content == b"ok"
    with pytest.raises(AddressRefused):
        bounded(guard=guard).get(f"http://127.0.0.1:{other}/")


# --- Which links are followed -------------------------------------------------------------------------


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True
    settings.AMAZON_LABEL_URL_HOSTS = [".amazonaws.com", ".amazon.com"]
    return LabelLinkPolicy.for_endpoint("https://sellingpartnerapi-eu.amazon.com")


@pytest.mark.parametrize("url", [
    "https://label-bucket.s3.amazonaws.com/labels/PKG1.zpl?X-Amz-Signature=abc",
    "https://s3.eu-west-1.amazonaws.com/bucket/PKG1.pdf",
    "https://amazonaws.com/x.png",
    "https://sellingpartnerapi-eu.amazon.com/labels/1",
])
def test_production_follows_amazons_https_hosts(production, url):
    assert production.refusal(httpx.URL(url)) is None


@pytest.mark.parametrize(("url", "said"), [
    ("http://label-bucket.s3.amazonaws.com/l.zpl", "uses http, not https"),
    ("https://label-bucket.s3.amazonaws.com:8443/l.zpl", "points at port 8443"),
    ("https://amazonaws.com.evil.example/l.zpl", "not at one of Amazon's label hosts"),
    ("https://evilamazonaws.com/l.zpl", "not at one of Amazon's label hosts"),
    ("https://54.239.28.85/l.zpl", "points at 54.239.28.85"),
    ("http://127.0.0.1:8001/_sandbox/labels/abc", "uses http, not https"),
    ("https://user@label-bucket.s3.amazonaws.com/l.zpl", "carries a user name or password"),
])
def test_production_refuses_everything_else(production, url, said):
    assert said in production.refusal(httpx.URL(url))


def test_production_exempts_no_address(production):
    assert production.guard() == AddressGuard()


@pytest.fixture
def development(settings):
    settings.PRODUCTION = False
    settings.AMAZON_LABEL_URL_HOSTS = [".amazonaws.com"]
    return LabelLinkPolicy.for_endpoint("http://127.0.0.1:8001")


@pytest.mark.parametrize(("url", "followed"), [
    ("http://127.0.0.1:8001/_sandbox/labels/4f2a9c?X-Amz-Signature=abc", True),
    ("https://label-bucket.s3.amazonaws.com/l.zpl", True),
    ("http://127.0.0.1:8001/_sandbox/config", False),
    ("http://127.0.0.1:8001/_sandbox/labels/../config", False),
    ("http://127.0.0.1:8001/_sandbox/labels/%2e%2e/config", False),
    ("http://127.0.0.1:8001/_sandbox/labels/a/b", False),
    ("http://127.0.0.1:9100/_sandbox/labels/4f2a9c", False),
    ("http://localhost:8001/_sandbox/labels/4f2a9c", False),
    ("https://127.0.0.1:8001/_sandbox/labels/4f2a9c", False),
])
def test_development_also_follows_the_configured_sandboxs_label_files_only(development, url, followed):
    assert (development.refusal(httpx.URL(url)) is None) is followed
    assert development.guard() == AddressGuard(frozenset({("127.0.0.1", 8001)}))
