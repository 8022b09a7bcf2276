"""Every document printed without a dialog: PNG/PDF labels as ZPL to the virtual Zebra, invoices and
packing slips to the virtual IPP document printer, each print (and each failure) in the history."""

import io
import json
import socket
import threading

import pytest
from PIL import Image, ImageDraw

from fulfillment.documents.errors import DocumentError
from fulfillment.documents.models import Document
from fulfillment.documents.rendering import label_to_printable_pdf
from fulfillment.documents.zpl import LABEL_DOTS, label_to_zpl
from fulfillment.printers.ipp import DocumentPrinterUnreachable
from fulfillment.printers.virtual import VirtualPrinter
from fulfillment.printers.virtual_ipp import VirtualDocumentPrinter
from fulfillment.shipments import services
from fulfillment.shipments.workflow import ShipmentError
from fulfillment.stations.models import Station
from tests.shipments import factories

pytestmark = pytest.mark.django_db


def _png(width=400, height=600) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((10, 10, width // 2, height // 3), fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def devices(tmp_path):
    zebra = _serve(VirtualPrinter(("127.0.0.1", 0), tmp_path / "labels"))
    docs = _serve(VirtualDocumentPrinter(("127.0.0.1", 0), tmp_path / "documents"))
    host, port = zebra.server_address[:2]
    station = Station.objects.create(name="Bench P", location_id="LOC", printer_host=host, printer_port=port,
                                     document_printer_url=docs.url)
    yield station, zebra, docs
    for server in (zebra, docs):
        server.shutdown()
        server.server_close()


def test_png_and_pdf_labels_become_label_sized_zpl():
    zpl = label_to_zpl(_png(600, 400), "image/png")  # landscape: turned upright
    assert zpl.startswith(b"^XA") and zpl.rstrip().endswith(b"^XZ") and b"^GFA" in zpl
    width_bytes = int(zpl.split(b"^GFA,")[1].split(b",")[2])
    assert width_bytes == -(-LABEL_DOTS[0] // 8)  # 812 dots: the label's full width
    pdf_zpl = label_to_zpl(label_to_printable_pdf(_png(), "image/png"), "application/pdf")
    assert pdf_zpl.count(b"^XA") == 1 and b"^GFA" in pdf_zpl
    assert label_to_zpl(b"^XA^FDx^FS^XZ", "application/zpl") == b"^XA^FDx^FS^XZ"
    with pytest.raises(DocumentError):
        label_to_zpl(b"hello", "text/plain")


def test_a_png_label_prints_on_the_zebra_and_the_invoice_on_the_document_printer(devices):
    station, zebra, docs = devices
    shipment = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(shipment)
    label = Document.objects.create(shipment=shipment, package=package, kind=Document.Kind.LABEL, content=_png(),
                                    original_format="PNG", content_type="image/png")
    pdf = label_to_printable_pdf(_png(), "image/png")
    invoice = Document.objects.create(shipment=shipment, kind=Document.Kind.INVOICE, content=pdf,
                                      original_format="PDF", content_type="application/pdf")
    assert services.prints_silently(label, station) and services.prints_silently(invoice, station)
    services.print_label(label, station=station, user=None)
    job = services.print_document(invoice, station=station, user=None)
    labels = list(zebra.out_dir.glob("*.zpl"))
    assert len(labels) == 1 and b"^GFA" in labels[0].read_bytes()
    kept = json.loads(next(docs.out_dir.glob("*.json")).read_text())
    assert kept["job-id"] == job and kept["job-name"] == f"Invoice {shipment.amazon_id}"
    assert (docs.out_dir / kept["file"]).read_bytes() == pdf
    package.refresh_from_db()
    assert package.label_printed_at is not None
    notes = [e.message for e in shipment.events.all()]
    assert any("printed (printer Bench P)" in m for m in notes)
    assert any(m.startswith("Invoice printed (document printer Bench P, job") for m in notes)


def test_without_a_document_printer_the_browser_prints_and_a_dead_one_is_recorded(devices):
    station, _, _ = devices
    shipment = factories.shipment(status="INVOICE_GENERATED")
    invoice = Document.objects.create(shipment=shipment, kind=Document.Kind.INVOICE, content=_png(),
                                      original_format="PNG", content_type="image/png")
    bare = Station.objects.create(name="Bench B", location_id="LOC")
    assert not services.prints_silently(invoice, bare)
    with pytest.raises(ShipmentError, match="no document printer"):
        services.print_document(invoice, station=bare, user=None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        station.document_printer_url = f"ipp://127.0.0.1:{probe.getsockname()[1]}/ipp/print"
    with pytest.raises(DocumentPrinterUnreachable):
        services.print_document(invoice, station=station, user=None)
    assert shipment.events.filter(kind="PRINT_FAILED", message__startswith="Invoice not printed").exists()


def test_print_invoice_is_one_press_at_the_station(devices, client):
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from fulfillment.accounts import roles

    station, _, docs = devices
    user = User.objects.create_user("pat", password="x")
    user.groups.add(Group.objects.get_or_create(name=roles.PACKER)[0])
    client.force_login(user)  # the floor's only station
    shipment = factories.shipment(status="INVOICE_GENERATED")
    invoice = Document.objects.create(shipment=shipment, kind=Document.Kind.INVOICE, content=_png(),
                                      original_format="PNG", content_type="image/png")
    page = client.get(reverse("shipments:detail", args=[shipment.amazon_id])).content.decode()
    assert 'data-action="PRINT_INVOICE" data-prints="printer"' in page  # no print dialog at this station
    html = client.post(reverse("shipments:print_document", args=[shipment.amazon_id, invoice.pk]),
                       HTTP_HX_REQUEST="true").content.decode()
    assert "Invoice sent to Bench P&#x27;s document printer." in html
    assert len(list(docs.out_dir.glob("*.pdf"))) == 1
    station.document_printer_url = ""
    station.save()
    page = client.get(reverse("shipments:detail", args=[shipment.amazon_id])).content.decode()
    assert 'data-action="PRINT_INVOICE" data-prints="browser"' in page  # the fallback


def test_pack_and_label_prints_label_and_invoice_and_says_which_did_not(devices):
    from fulfillment.shipments.services.chain import _print_chain_labels

    station, zebra, docs = devices
    shipment = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(shipment)
    Document.objects.create(shipment=shipment, package=package, kind=Document.Kind.LABEL, content=_png(),
                            original_format="PNG", content_type="image/png")
    Document.objects.create(shipment=shipment, kind=Document.Kind.INVOICE, content=_png(), original_format="PNG",
                            content_type="image/png")
    _print_chain_labels(shipment, station.pk, None)
    ended = shipment.events.get(data__chain_ended=True)
    assert ended.message == "Pack & label done: 1 label printed on Bench P's printer, invoice on its document printer."
    assert ended.data["done"] and len(list(zebra.out_dir.glob("*.zpl"))) == 1 and len(list(docs.out_dir.glob("*.pdf"))) == 1
    ended.delete()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        station.document_printer_url = f"ipp://127.0.0.1:{probe.getsockname()[1]}/ipp/print"
    station.save()
    _print_chain_labels(shipment, station.pk, None)
    ended = shipment.events.get(data__chain_ended=True)
    assert ended.message.startswith("Pack & label done: labels printed, but not every document. Invoice: The document")
    assert not ended.data["done"] and len(list(zebra.out_dir.glob("*.zpl"))) == 2
