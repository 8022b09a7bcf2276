"""send_zpl and printer_status against real sockets; the virtual printer in process and as `manage.py`."""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from fulfillment.printers.virtual import VirtualPrinter, parse_address
from fulfillment.printers.zebra import (
    NotZpl,
    PrinterError,
    PrinterTimeout,
    PrinterUnreachable,
    parse_host_status,
    printer_status,
    send_zpl,
)

LABEL = b"^XA\r\n^CI28^FO40,40^A0N,44,44^FDM\xc3\xbcller \xe2\x82\xac^FS\n^BCN,100,Y^FD343284200328^FS\r\n^XZ\r\n"


class Receiver:
    """A raw TCP listener that records every byte of each connection until the sender closes."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.jobs: list[bytes] = []
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        connection, _ = self.listener.accept()
        with connection:
            data = b""
            while chunk := connection.recv(4096):
                data += chunk
        self.jobs.append(data)
        self.done.set()

    def close(self):
        self.listener.close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_send_zpl_delivers_exactly_the_bytes_and_closes(receiver):
    send_zpl("127.0.0.1", receiver.port, LABEL)
    assert receiver.done.wait(2)
    assert receiver.jobs == [LABEL]


def test_refused_port_is_unreachable_with_words_for_the_packer():
    port = free_port()
    with pytest.raises(PrinterUnreachable) as failed:
        send_zpl("127.0.0.1", port, LABEL, timeout=1)
    assert f"127.0.0.1:{port}" in failed.value.packer_message
    assert "press Print again" in failed.value.packer_message


def test_unknown_printer_name_is_unreachable():
    with pytest.raises(PrinterUnreachable) as failed:
        send_zpl("zebra-station-9.invalid", 9100, LABEL, timeout=1)
    assert "station settings" in failed.value.packer_message


@pytest.fixture
def silent_printer():
    """Accepts one connection, then never accepts another (full backlog) and never reads."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited: a small window fills fast
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    yield listener
    listener.close()


def test_printer_that_does_not_answer_times_out(silent_printer, settings):
    port = silent_printer.getsockname()[1]
    socket.create_connection(("127.0.0.1", port))  # fills the backlog: the next connect gets no answer
    settings.PRINTER_TIMEOUT_SECONDS = 0.2  # the default timeout comes from settings
    started = time.monotonic()
    with pytest.raises(PrinterTimeout) as failed:
        send_zpl("127.0.0.1", port, LABEL)
    assert time.monotonic() - started < 1.5
    assert failed.value.packer_message == (
        f"The label printer at 127.0.0.1:{port} did not answer. Check it is switched on and connected, "
        "then press Print again."
    )


def test_printer_that_accepts_but_never_reads(silent_printer):
    """A printer closes the connection once it has read the job; one that never reads never does:
    PrinterTimeout, also for a label small enough to vanish into the network buffers."""
    port = silent_printer.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(PrinterTimeout) as failed:
        send_zpl("127.0.0.1", port, LABEL, timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert "took the connection but not the label" in failed.value.packer_message

    silent_printer.listen(1)
    big_label = b"^XA" + b"^FX" + b"0" * (16 * 1024 * 1024) + b"^XZ"
    started = time.monotonic()
    with pytest.raises(PrinterTimeout) as failed:
        send_zpl("127.0.0.1", port, big_label, timeout=0.3)
    assert time.monotonic() - started < 2
    assert "stopped taking the label" in failed.value.packer_message


@pytest.mark.parametrize("content", [b"", b"%PDF-1.4 ...", b"\x89PNG\r\n\x1a\n", b"^XA^FDno end", b"hello ^XZ"])
def test_non_zpl_is_refused_before_connecting(receiver, content):
    with pytest.raises(NotZpl) as refused:
        send_zpl("127.0.0.1", receiver.port, content)
    assert isinstance(refused.value, PrinterError)
    assert "print it from the browser" in refused.value.packer_message
    assert not receiver.done.wait(0.1)  # nothing connected


# --- ~HS status ----------------------------------------------------------------------------------------


def test_host_status_flags_are_read():
    answer = (b"\x02030,1,1,1218,000,0,0,0,000,0,0,0\x03\r\n"
              b"\x02000,0,1,1,0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n")
    status = parse_host_status(answer)
    assert status.problems == ["out of labels", "paused", "print head open", "out of ribbon"]
    assert not status.ready
    with pytest.raises(ValueError):
        parse_host_status(b"HTTP/1.1 400 Bad Request\r\n")


@pytest.fixture
def virtual_printer(tmp_path):
    printer = VirtualPrinter(("127.0.0.1", 0), tmp_path / "printed")
    thread = threading.Thread(target=printer.serve_forever, daemon=True)
    thread.start()
    yield printer
    printer.shutdown()
    printer.server_close()


def wait_for_files(folder: Path, count: int, seconds: float = 5) -> list[Path]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*.zpl"))
        if len(files) >= count:
            return files
        time.sleep(0.02)
    raise AssertionError(f"{count} jobs expected in {folder}, found {sorted(folder.iterdir())}")


def test_printer_status_of_the_virtual_printer_is_ready(virtual_printer):
    status = printer_status("127.0.0.1", virtual_printer.server_address[1], timeout=2)
    assert status.ready and status.problems == []
    assert list(virtual_printer.out_dir.glob("*.zpl")) == []  # a status query is not a print job


def test_printer_status_of_something_that_is_not_a_zebra():
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_http():
        connection, _ = listener.accept()
        with connection:
            connection.recv(16)
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=answer_http, daemon=True).start()
    with pytest.raises(PrinterError) as failed:
        printer_status("127.0.0.1", listener.getsockname()[1], timeout=1)
    listener.close()
    assert "did not answer like a Zebra" in failed.value.packer_message


def test_virtual_printer_stores_concurrent_jobs_whole_and_apart(virtual_printer):
    port = virtual_printer.server_address[1]
    jobs = [b"^XA^FDjob %d^FS^XZ" % n + b"^FX" + b"x" * 200_000 + b"^XA^XZ" for n in range(6)]
    threads = [threading.Thread(target=send_zpl, args=("127.0.0.1", port, job, 5)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = wait_for_files(virtual_printer.out_dir, 6)
    assert sorted(path.read_bytes() for path in files) == sorted(jobs)
    assert all(re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-\d+\.zpl", path.name) for path in files)
    assert not list(virtual_printer.out_dir.glob("*.part"))


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:9101", ("127.0.0.1", 9101)), ("9102", ("127.0.0.1", 9102)),
    ("0.0.0.0:9100", ("0.0.0.0", 9100)), ("printer", ("printer", 9100)),
])
def test_parse_address(value, expected):
    assert parse_address(value) == expected


# --- manage.py runvirtualprinter ---------------------------------------------------------------------------


def test_runvirtualprinter_command_stores_a_job(tmp_path):
    port = free_port()
    out = tmp_path / "printed"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runvirtualprinter", f"127.0.0.1:{port}", "--out", str(out)],
        cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        banner = process.stdout.readline().decode()
        assert f"listening on 127.0.0.1:{port}" in banner, process.stderr.read().decode()

        send_zpl("127.0.0.1", port, LABEL, timeout=2)

        [stored] = wait_for_files(out, 1)
        assert stored.read_bytes() == LABEL
    finally:
        process.terminate()
        process.wait(5)
    log = process.stderr.read().decode()
    assert f"Printed job 1 from 127.0.0.1: {len(LABEL)} bytes, 1 label -> {stored}" in log


@pytest.mark.django_db
def test_a_label_the_printer_never_read_is_not_recorded_as_printed(silent_printer, settings):
    from fulfillment.documents.models import Document
    from fulfillment.shipments import services
    from fulfillment.stations.models import Station
    from tests.shipments import factories

    shipment = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(shipment)
    label = Document.objects.create(shipment=shipment, package=package, kind=Document.Kind.LABEL, content=LABEL,
                                    original_format="ZPL", content_type="application/zpl")
    station = Station.objects.create(name="Bench 9", location_id="LOC", printer_host="127.0.0.1",
                                     printer_port=silent_printer.getsockname()[1])
    settings.PRINTER_TIMEOUT_SECONDS = 0.3
    with pytest.raises(PrinterTimeout):
        services.print_label(label, station=station, user=None)
    package.refresh_from_db()
    assert package.label_printed_at is None
    assert shipment.events.filter(kind="PRINT_FAILED").exists()
    assert not shipment.events.filter(kind="LABEL_PRINTED").exists()
