"""The board, history, export and document pages through Django's test client."""

import csv
import io
import socketserver
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfillment.accounts import roles
from fulfillment.claims import services as claims
from fulfillment.claims.models import Claim
from fulfillment.documents.models import Document
from fulfillment.shipments.models import Package, ShipmentStep, Status
from fulfillment.stations.models import Station

from . import factories as f

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def live_floor(db):
    """A small floor relative to the real clock (the views read timezone.now())."""
    now = timezone.now()
    packer = f.user("anna")
    late = f.shipment(now=now, ship_by_in=timedelta(minutes=-45), buyer_order_id="171-LATE-0001")
    soon = f.shipment(now=now, status=Status.CONFIRMED, ship_by_in=timedelta(minutes=50), location="LOC-2")
    done = f.shipment(now=now, status=Status.SHIPPED, ship_by_in=timedelta(hours=-1), tracking_ids=["TRK1", "TRK2"])
    f.step(done, ShipmentStep.Kind.SHIP, ShipmentStep.State.SUCCEEDED, at=now - timedelta(minutes=5), by=packer)
    claims.claim(late, packer)
    return {"now": now, "packer": packer, "late": late, "soon": soon, "done": done}


def _login(client, role):
    user = f.user(f"{role.lower()}-user", role)
    client.force_login(user)
    return user


@pytest.mark.parametrize("name,args", [
    ("supervision:board", []), ("supervision:export", []), ("supervision:history", ["SHIP-X"]),
    ("supervision:document", [1]),
])
def test_anonymous_is_sent_to_login_and_a_packer_is_refused(client, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    _login(client, roles.PACKER)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("role", [roles.SUPERVISOR, roles.ADMIN])
def test_supervisors_and_admins_see_the_board(client, live_floor, role):
    _login(client, role)
    page = client.get(reverse("supervision:board")).content.decode()
    assert 'data-figure="overdue">1<' in page and 'data-figure="at_risk">1<' in page
    assert live_floor["late"].amazon_id in page and live_floor["soon"].amazon_id in page
    assert "<svg" in page and 'data-packer="anna" data-value="1"' in page
    assert 'hx-trigger="every 30s"' in page  # live


def test_the_board_refresh_sends_only_the_live_panel_with_the_filters(client, live_floor):
    _login(client, roles.SUPERVISOR)
    response = client.get(reverse("supervision:board"), {"location": "LOC-2"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "board-filters" not in body
    assert 'data-figure="overdue">0<' in body and 'data-figure="at_risk">1<' in body
    assert live_floor["late"].amazon_id not in body


def test_the_status_table_covers_open_and_recently_finished_shipments_and_says_so(client, live_floor):
    _login(client, roles.SUPERVISOR)
    now = live_floor["now"]
    long_ago = f.shipment(now=now, status=Status.SHIPPED, location="LOC-OLD", status_since=now - timedelta(days=40))
    page = client.get(reverse("supervision:board")).content.decode()
    assert "open shipments, and those shipped, delivered or cancelled in the last 7 days" in page
    assert 'data-location="LOC-OLD"' not in page  # its location is still in the filter's choices
    assert 'data-figure="finished">1 finished in 7 d<' in page  # "done", shipped today
    # Looking for it by id finds it: a search covers all history.
    page = client.get(reverse("supervision:board"), {"q": long_ago.amazon_id}).content.decode()
    assert 'data-location="LOC-OLD"' in page and "every matching shipment, finished ones included" in page


def test_board_search_and_a_bad_filter(client, live_floor):
    _login(client, roles.SUPERVISOR)
    page = client.get(reverse("supervision:board"), {"q": "171-LATE", "day": "not-a-day"}).content.decode()
    assert 'data-figure="open">1<' in page  # the search still applies
    assert "Enter a valid date." in page


def test_board_says_amazon_disagrees_and_lists_unreadable_shipments_without_their_values(client, live_floor):
    from fulfillment.shipments.models import UnreadableShipment

    _login(client, roles.SUPERVISOR)
    soon = live_floor["soon"]
    soon.disagreed_at, soon.disagreed_status = timezone.now(), "PACKAGE_CREATED"
    soon.save()
    UnreadableShipment.objects.create(seller_account="default", shipment_id="BAD-77", location_id="LOC-2",
                                      problems=["shipmentInfo.priority: Field required"])
    page = client.get(reverse("supervision:board")).content.decode()
    assert 'data-figure="amazon_disagrees">1<' in page and "Amazon disagrees" in page
    row = page[page.index(f'data-disagrees="{soon.amazon_id}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-status="PACKAGE_CREATED"' in row and 'data-status="CONFIRMED"' in row  # ours, then Amazon's
    assert 'data-unreadable="BAD-77"' in page and "shipmentInfo.priority: Field required" in page


def test_board_queries_stay_flat(client, live_floor):
    _login(client, roles.SUPERVISOR)

    def queries_for_board():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("supervision:board")).status_code == 200
        return len(captured)

    before = queries_for_board()
    now = live_floor["now"]
    for i in range(30):
        s = f.shipment(now=now, ship_by_in=timedelta(minutes=i - 10), location=f"LOC-{i % 4}")
        claims.claim(s, f.user(f"packer{i}"))
        f.step(s, "LABELS", "FAILED", at=now - timedelta(minutes=i), by=live_floor["packer"])
        f.step(s, "SHIP", "SUCCEEDED", at=now - timedelta(minutes=i), by=live_floor["packer"])
        f.amazon_call(at=now - timedelta(minutes=i), http_status=429, shipment_id=s.amazon_id)
    assert queries_for_board() == before <= 20


def test_export_streams_the_filtered_list_as_csv(client, live_floor):
    _login(client, roles.SUPERVISOR)
    response = client.get(reverse("supervision:export"), {"status": "SHIPPED"})
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="shipments-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Shipment id", "Buyer order id", "Status"]
    assert len(rows) == 2
    done = live_floor["done"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Shipment id"] == done.amazon_id and record["Status"] == "SHIPPED"
    assert record["Tracking ids"] == "TRK1 TRK2" and record["Claimed by"] == ""
    assert record["Ship by (UTC)"] == done.ship_by.strftime("%Y-%m-%d %H:%M:%S")
    sneaky = f.shipment(now=live_floor["now"], buyer_order_id='=HYPERLINK("http://x.example")')
    every = list(csv.reader(io.StringIO(b"".join(client.get(reverse("supervision:export")).streaming_content).decode())))
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in every[1:]}
    assert len(every) == 5 and by_id[live_floor["late"].amazon_id]["Claimed by"] == "anna"
    assert by_id[sneaky.amazon_id]["Buyer order id"] == "'=HYPERLINK(\"http://x.example\")"  # never a formula


def test_history_shows_who_did_what_and_every_amazon_call(client, live_floor):
    sofia = _login(client, roles.SUPERVISOR)
    late = live_floor["late"]
    f.amazon_call(at=timezone.now(), operation="processShipment", http_status=429, shipment_id=late.amazon_id,
                  request_id="rid-throttled-42")
    page = client.get(reverse("supervision:history", args=[late.amazon_id])).content.decode()
    assert "Claimed by anna" in page and 'data-claim-holder="anna"' in page
    assert "rid-throttled-42" in page and "processShipment" in page and "120 ms" in page
    assert client.get(reverse("supervision:history", args=["NO-SUCH"])).status_code == 404

    response = client.post(reverse("claims:release", args=[late.pk]), {"next": reverse("supervision:history", args=[late.amazon_id])})
    assert response.status_code == 302 and response["Location"] == reverse("supervision:history", args=[late.amazon_id])
    assert not Claim.objects.filter(shipment=late).exists()
    page = client.get(response["Location"]).content.decode()
    assert f"Shipment {late.amazon_id} released from anna." in page
    assert f"{sofia.username} released anna&#x27;s claim" in page


def test_documents_are_served_with_their_content_type_and_reprints_are_recorded(client, live_floor):
    _login(client, roles.SUPERVISOR)
    done = live_floor["done"]
    package = Package.objects.create(shipment=done, package_id="PKG-9", length=10, width=10, height=10, weight=100)
    pdf_bytes = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    invoice = Document.objects.create(shipment=done, kind=Document.Kind.INVOICE, content=pdf_bytes,
                                      content_type="application/pdf", original_format="PDF")
    zpl = Document.objects.create(shipment=done, package=package, kind=Document.Kind.LABEL, content=b"^XA^FDhi^FS^XZ",
                                  content_type="text/plain", original_format="ZPL")
    response = client.get(reverse("supervision:document", args=[invoice.pk]))
    assert response["Content-Type"] == "application/pdf" and response.content == pdf_bytes
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    response = client.get(reverse("supervision:document", args=[zpl.pk]))
    assert response.content == b"^XA^FDhi^FS^XZ" and response["Content-Disposition"].endswith('.zpl"')

    response = client.post(reverse("supervision:reprint", args=[invoice.pk]))
    assert response["Location"] == reverse("supervision:document", args=[invoice.pk])
    assert done.events.filter(kind="NOTE", message__contains="Invoice reprinted").exists()
    # No station with a printer chosen: the ZPL label is refused, saying what to do, nothing recorded as printed.
    response = client.post(reverse("supervision:reprint", args=[zpl.pk]), follow=True)
    assert "choose the station whose label printer should print it" in response.content.decode()
    assert "ask your admin" not in response.content.decode()
    assert not done.events.filter(kind="LABEL_PRINTED").exists()


def test_a_supervisor_reprints_a_zpl_label_on_the_stations_printer(client, live_floor):
    sofia = _login(client, roles.SUPERVISOR)
    received = []

    class Printer(socketserver.BaseRequestHandler):
        def handle(self):
            chunks = iter(lambda: self.request.recv(65536), b"")
            received.append(b"".join(chunks))

    with socketserver.TCPServer(("127.0.0.1", 0), Printer) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        station = Station.objects.create(name="Bench 1", location_id="LOC-1", printer_host="127.0.0.1",
                                         printer_port=server.server_address[1])
        client.post(reverse("stations:use", args=[station.pk]))
        done = live_floor["done"]
        package = Package.objects.create(shipment=done, package_id="PKG-7", length=1, width=1, height=1, weight=50)
        label = Document.objects.create(shipment=done, package=package, kind=Document.Kind.LABEL,
                                        content=b"^XA^FDreprint^FS^XZ", content_type="text/plain", original_format="ZPL")
        response = client.post(reverse("supervision:reprint", args=[label.pk]), follow=True)
    assert received == [b"^XA^FDreprint^FS^XZ"]
    assert "Label sent to Bench 1&#x27;s printer." in response.content.decode()
    assert done.events.filter(kind="LABEL_PRINTED", user=sofia).exists()


def test_a_supervisor_reprints_at_a_chosen_station_without_a_dialog(client, live_floor, tmp_path):
    """PNG label as ZPL to the chosen station's (virtual) Zebra, invoice over IPP to its (virtual) document
    printer, each print in the history; a printer that is down says so, and is recorded too."""
    from fulfillment.accounts.models import LocationMembership
    from fulfillment.printers.virtual import VirtualPrinter
    from fulfillment.printers.virtual_ipp import VirtualDocumentPrinter
    from tests.printers.test_silent_printing import _png, _serve

    sofia = _login(client, roles.SUPERVISOR)
    LocationMembership.objects.create(user=sofia, location_id="LOC-1")  # two locations on the floor: hers is LOC-1
    zebra = _serve(VirtualPrinter(("127.0.0.1", 0), tmp_path / "labels"))
    docs = _serve(VirtualDocumentPrinter(("127.0.0.1", 0), tmp_path / "documents"))
    try:
        host, port = zebra.server_address[:2]
        station = Station.objects.create(name="Bench 2", location_id="LOC-1", printer_host=host, printer_port=port,
                                         document_printer_url=docs.url)
        Station.objects.create(name="Elsewhere", location_id="LOC-OTHER", printer_host=host, printer_port=port)
        desk = Station.objects.create(name="Desk", location_id="LOC-1")  # the supervisor's: no printers
        client.post(reverse("stations:use", args=[desk.pk]))
        done = live_floor["done"]
        package = Package.objects.create(shipment=done, package_id="PKG-8", length=1, width=1, height=1, weight=50)
        label = Document.objects.create(shipment=done, package=package, kind=Document.Kind.LABEL, content=_png(),
                                        content_type="image/png", original_format="PNG")
        invoice = Document.objects.create(shipment=done, kind=Document.Kind.INVOICE, content=b"%PDF-1.4\n%%EOF",
                                          content_type="application/pdf", original_format="PDF")
        page = client.get(reverse("supervision:history", args=[done.amazon_id])).content.decode()
        i = page.find("Elsewhere")
        assert i < 0, page[i - 300:i + 100]
        assert "Bench 2</option>" in page and "Print from this browser" in page and "Desk</option>" not in page

        response = client.post(reverse("supervision:reprint", args=[label.pk]), {"station": station.pk}, follow=True)
        assert "Label sent to Bench 2&#x27;s printer." in response.content.decode()
        assert b"^GFA" in next((tmp_path / "labels").glob("*.zpl")).read_bytes()  # the PNG, as ZPL
        assert done.events.filter(kind="LABEL_PRINTED", user=sofia, message__contains="printer Bench 2").exists()

        response = client.post(reverse("supervision:reprint", args=[invoice.pk]), {"station": station.pk})
        assert response["Location"] == reverse("supervision:history", args=[done.amazon_id])  # no browser dialog
        assert [p.suffix for p in (tmp_path / "documents").iterdir()] != []
        assert done.events.filter(kind="NOTE", user=sofia, message__contains="document printer Bench 2").exists()
    finally:
        for server in (zebra, docs):
            server.shutdown()
            server.server_close()
    # The printers are gone: the supervisor reads what failed, the history keeps it.
    response = client.post(reverse("supervision:reprint", args=[invoice.pk]), {"station": station.pk}, follow=True)
    assert "Invoice not printed:" in response.content.decode()
    response = client.post(reverse("supervision:reprint", args=[label.pk]), {"station": station.pk}, follow=True)
    assert "Shipping label not printed:" in response.content.decode()
    assert done.events.filter(kind="PRINT_FAILED").count() == 2
    # Nothing chosen, the supervisor's own station has no document printer: the browser prints it.
    response = client.post(reverse("supervision:reprint", args=[invoice.pk]))
    assert response["Location"] == reverse("supervision:document", args=[invoice.pk])
