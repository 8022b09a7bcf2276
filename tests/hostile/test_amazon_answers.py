"""Amazon's own JSON answers are outside bytes too: one that drips ends at AMAZON_TIMEOUT_SECONDS
per attempt, however slowly it comes, and one longer than AMAZON_MAX_RESPONSE_BYTES is not read."""

import time

import pytest

from fulfillment.amazon.client import get_client
from fulfillment.amazon.errors import AmazonAnswerTooLarge, AmazonTimeout

from . import sources

pytestmark = pytest.mark.django_db


def json_drip(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b'{"shipments": [')
    for _ in range(100_000):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.2)


def test_a_dripping_answer_ends_at_the_timeout(hostile, settings):
    settings.AMAZON_RETRY_ATTEMPTS = 2
    hostile.api = json_drip
    started = time.monotonic()
    with get_client(timeout=1.0) as client, pytest.raises(AmazonTimeout):
        client.get_shipment("ANY-1")
    assert time.monotonic() - started < 2 * 1.0 + 1.5  # two attempts of one second, and the backoff


def test_an_endless_answer_is_not_read(hostile, settings):
    settings.AMAZON_MAX_RESPONSE_BYTES = 1_000_000
    hostile.api = sources.endless()
    started = time.monotonic()
    with get_client(timeout=10.0) as client, pytest.raises(AmazonAnswerTooLarge) as refused:
        client.get_shipment("ANY-1")
    assert time.monotonic() - started < 3
    assert "far larger than any shipment" in refused.value.packer_message
