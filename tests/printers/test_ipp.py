"""IPP printing of documents against the virtual document printer and Debian's real `ippeveprinter`
(cups-ipp-utils, installed by `make test`)."""

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from fulfillment.printers.ipp import (
    DocumentPrinterError,
    DocumentPrinterRefused,
    DocumentPrinterUnreachable,
    http_url,
    print_pdf,
    printer_state,
)
from fulfillment.printers.virtual_ipp import VirtualDocumentPrinter

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def docprinter(tmp_path):
    import threading

    server = VirtualDocumentPrinter(("127.0.0.1", 0), tmp_path / "jobs")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_virtual_printer_keeps_every_job(docprinter):
    state = printer_state(docprinter.url)
    assert (state.state, state.accepting, state.problems) == ("idle", True, [])
    first = print_pdf(docprinter.url, PDF, job_name="Invoice TEST-1", user_name="packer")
    second = print_pdf(docprinter.url, PDF, job_name="Packing slip TEST-1")
    assert second == first + 1
    kept = sorted(docprinter.out_dir.glob("*.json"))
    assert [json.loads(p.read_text())["job-name"] for p in kept] == ["Invoice TEST-1", "Packing slip TEST-1"]
    assert (docprinter.out_dir / json.loads(kept[0].read_text())["file"]).read_bytes() == PDF


def test_addresses_and_failures_say_what_to_check():
    assert http_url("ipp://printer.local/ipp/print") == "http://printer.local:631/ipp/print"
    assert http_url("ipps://printer.local:8443/x") == "https://printer.local:8443/x"
    with pytest.raises(DocumentPrinterError, match="not a printer address"):
        http_url("lpd://printer")
    with pytest.raises(DocumentPrinterUnreachable, match="cannot be reached"):
        print_pdf(f"ipp://127.0.0.1:{_free_port()}/ipp/print", PDF, job_name="x", timeout=2)


def test_a_web_server_is_no_printer(live_server):
    with pytest.raises(DocumentPrinterRefused, match="did not answer like an IPP printer"):
        printer_state(live_server.url.replace("http://", "ipp://") + "/accounts/login/")


@pytest.fixture
def ippeveprinter(tmp_path):
    """Debian's IPP Everywhere reference printer. Its DNS-SD needs a D-Bus; a private one does (no avahi)."""
    if not shutil.which("ippeveprinter"):
        pytest.fail("ippeveprinter is missing: `make test` installs cups-ipp-utils (see Makefile system-packages)")
    bus = tmp_path / "bus"
    dbus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", f"--address=unix:path={bus}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = _free_port()
    spool = tmp_path / "spool"
    spool.mkdir()
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={bus}"}
    log = (tmp_path / "ippeveprinter.log").open("wb")
    for _ in range(50):
        if bus.exists():
            break
        time.sleep(0.1)
    printer = subprocess.Popen(["ippeveprinter", "-p", str(port), "-n", "localhost", "-r", "off", "-k", "-d", str(spool),
                                "-f", "application/pdf", "Packbench test"], env=env, stdout=log, stderr=log)
    url = f"ipp://localhost:{port}/ipp/print"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                printer_state(url, timeout=2)
                break
            except DocumentPrinterError:
                assert printer.poll() is None, (tmp_path / "ippeveprinter.log").read_text()
                assert time.monotonic() < deadline, "ippeveprinter did not start"
                time.sleep(0.2)
        yield url, spool
    finally:
        printer.terminate()
        dbus.terminate()
        printer.wait(10)
        dbus.wait(10)


def test_prints_to_a_real_ipp_printer(ippeveprinter):
    url, spool = ippeveprinter
    state = printer_state(url)
    assert state.state in ("idle", "printing") and state.accepting
    job = print_pdf(url, PDF, job_name="Invoice TEST-9", user_name="packer")
    assert job > 0
    deadline = time.monotonic() + 10
    while not list(spool.rglob("*.pdf")):
        assert time.monotonic() < deadline, list(spool.rglob("*"))
        time.sleep(0.2)
    assert list(spool.rglob("*.pdf"))[0].read_bytes() == PDF


def test_an_endless_answer_is_refused_not_read():
    """A device on the printer's address that answers with more than any printer says is refused by
    its declared length, without reading it."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def answer():
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 500000000\r\n\r\n")
            connection.sendall(b"\0" * 65536)

    threading.Thread(target=answer, daemon=True).start()
    try:
        with pytest.raises(DocumentPrinterRefused, match="far longer answer"):
            printer_state(f"ipp://127.0.0.1:{server.getsockname()[1]}/ipp/print", timeout=3)
    finally:
        server.close()
