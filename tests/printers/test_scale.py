"""The MT-SICS client against the virtual scale over real TCP, and what it makes of each answer."""

import socket
import time
from decimal import Decimal

import pytest

from fulfillment.printers.scale import (
    ScaleNotReady,
    ScaleTimeout,
    ScaleUnreachable,
    parse_answer,
    read_weight,
)
from fulfillment.printers.virtual_scale import start_virtual_scale


@pytest.fixture
def scale():
    server, _ = start_virtual_scale(settle_seconds=0.3)
    yield server
    server.shutdown()
    server.server_close()


def test_weight_moves_then_settles(scale):
    host, port = scale.server_address[:2]
    scale.place("1.234", "kg")
    moving = read_weight(host, port)
    assert not moving.stable and moving.unit == "KG" and moving.value != Decimal("1.234")
    time.sleep(0.35)
    settled = read_weight(host, port)
    assert settled == parse_answer("S S      1.234 kg") and settled.grams == Decimal("1234.000")


def test_weight_file_is_what_lies_on_the_scale(tmp_path):
    path = tmp_path / "scale-weight"
    path.write_text("350 g\n")
    server, _ = start_virtual_scale(weight_file=path, settle_seconds=0)
    try:
        reading = read_weight(*server.server_address[:2])
        assert (reading.value, reading.unit, reading.stable) == (Decimal(350), "G", True)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("answer", "words"), [
    ("S I", "busy"), ("S +", "overloaded"), ("S -", "below zero"), ("ES", "MT-SICS"), ("S S 12.0 t", "Amazon does not take"),
    ("hello", "not a weight"),
])
def test_answers_without_a_weight_say_what_to_do(answer, words):
    with pytest.raises(ScaleNotReady, match=words):
        parse_answer(answer)


def test_nothing_listening_is_unreachable():
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(ScaleUnreachable, match="cannot be reached") as caught:
        read_weight("127.0.0.1", port, timeout=1)
    assert "station settings" in caught.value.packer_message


def test_silent_peer_times_out():
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(ScaleTimeout, match="sent no weight"):
            read_weight("127.0.0.1", silent.getsockname()[1], timeout=0.3)
    finally:
        silent.close()


def test_a_peer_dripping_bytes_is_cut_off_at_the_deadline():
    """Each byte arrives before the socket's own timeout: only the whole answer's deadline stops it."""
    import threading

    dripper = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip():
        connection, _ = dripper.accept()
        with connection:
            while not stop.is_set():
                connection.sendall(b"S")
                time.sleep(0.1)

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(ScaleTimeout, match="sent no weight"):
            read_weight("127.0.0.1", dripper.getsockname()[1], timeout=0.5)
    finally:
        stop.set()
        dripper.close()
    assert time.monotonic() - started < 2
