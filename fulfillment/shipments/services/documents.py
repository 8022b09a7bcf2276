"""Invoices, packing slips and labels a step brings back, stored as received with a printable copy."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.db import transaction

from fulfillment.amazon import schemas
from fulfillment.amazon.errors import AmazonError, LabelUrlExpired
from fulfillment.documents.models import Document

from .. import workflow
from ..models import Package, Shipment, ShipmentEvent
from .events import record_event
from .locking import lock_shipment


def store_invoice(step, response: schemas.InvoiceResponse) -> dict:
    """Keep generateInvoice's document exactly as received. It is the tax invoice when the shipment
    requires one, otherwise Amazon's packing slip.

    The document is stored only once it is known to be a PDF, image or text invoice within the size
    and time limits (`documents.formats`); otherwise DocumentError says what was wrong and what to do,
    nothing is stored and the invoice kept before (if any) stays. The same bytes again are not stored
    twice. A PDF is its own printable copy; the page a text or image invoice is set on is drawn when
    it is first printed or shown (`Document.pdf()`, then kept), not by the worker for every shipment."""
    from fulfillment.documents import rendering
    from fulfillment.documents.errors import DocumentError

    shipment = step.shipment
    kind = Document.Kind.INVOICE if workflow.tax_invoice_required(shipment) else Document.Kind.PACKING_SLIP
    document = response.document
    content = (document.content or "").encode()
    try:
        printable = rendering.checked_invoice(document.content or "", document.format)
    except DocumentError as exc:
        raise DocumentError(f"Nothing was stored: {exc.packer_message}", detail=exc.detail) from exc
    stored, created = _store_once(shipment, None, kind, content, original_format=document.format or "",
                                  content_type="text/plain", printable_pdf=printable)
    if created:
        record_event(shipment, ShipmentEvent.Kind.DOCUMENT_STORED, f"{kind.label} stored.", user=step.requested_by,
                     data={"document": stored.pk, "sha256": stored.sha256})
    return {"format": document.format, "kind": kind, "document": stored.pk}


def _store_once(shipment, package, kind, content: bytes, **fields) -> tuple[Document, bool]:
    """The one stored copy of `content` as the shipment's (or package's) current document of `kind`:
    the same bytes stored before are kept (and made current again), otherwise a new row; the
    documents it replaces are marked superseded. Returns (document, whether it is new)."""
    digest = hashlib.sha256(content).hexdigest()
    same_place = Document.objects.filter(shipment=shipment, package=package, kind=kind)
    with transaction.atomic():
        existing = same_place.filter(sha256=digest).order_by("superseded", "-fetched_at", "-id").first()
        if existing is not None and bytes(existing.content) == content:
            same_place.filter(superseded=False).exclude(pk=existing.pk).update(
                superseded=True, regenerate_reason=fields.get("regenerate_reason", ""))
            if existing.superseded:
                Document.objects.filter(pk=existing.pk).update(superseded=False, regenerate_reason="")
                existing.superseded = False
            return existing, False
        same_place.filter(superseded=False).update(superseded=True,
                                                   regenerate_reason=fields.get("regenerate_reason", ""))
        return Document.objects.create(shipment=shipment, package=package, kind=kind, content=content, **fields), True


def ensure_packing_slip(shipment: Shipment, user=None) -> Document | None:
    """Render and store our packing slip when the shipment requires one and Amazon gave none.
    Raises DocumentError (with `.packer_message`) when it cannot be drawn."""
    if not workflow.packing_slip_needed(shipment):
        return None
    existing = shipment.documents.filter(kind=Document.Kind.PACKING_SLIP, superseded=False).first()
    if existing:
        return existing
    from fulfillment.documents import rendering

    pdf = rendering.packing_slip_pdf(shipment)
    document = Document.objects.create(
        shipment=shipment, kind=Document.Kind.PACKING_SLIP, content=pdf, original_format="PDF",
        content_type="application/pdf", printable_pdf=pdf,
    )
    record_event(shipment, ShipmentEvent.Kind.DOCUMENT_STORED, "Packing slip stored.", user=user,
                 data={"document": document.pk})
    return document


def label_option_id(shipment: Shipment, packages: list[Package]) -> str | None:
    """The chosen shipping option as Amazon offered it for these packages. Options are offered per
    package: a label call for packages other than the one whose option the packer chose (getting
    one label again) names their own option of the same carrier, which Amazon accepts for them."""
    chosen = shipment.selected_shipping_option
    if chosen is None:
        return None
    if chosen.package_id is None or chosen.package_id in {p.pk for p in packages}:
        return chosen.option_id
    same = shipment.shipping_options.filter(
        package__in=packages, carrier_name=chosen.carrier_name, ship_by=chosen.ship_by, ship_method=chosen.ship_method
    ).first()
    return same.option_id if same else chosen.option_id


def store_ship_labels(shipment: Shipment, answers: list[schemas.PackageShipLabel], *, client, user=None,
                      reason: str = "", label_options: dict | None = None,
                      packages: dict[str, Package] | None = None) -> tuple[list[int], list[str]]:
    """Fetch every label of a generateShipLabels answer from its presigned URL at once and store it.
    A link that expired is renewed by generating again (GENERATE hands back the same label with a
    fresh link), once. Failures stay on their package with Amazon's words. Returns (document ids,
    failure messages). `packages`: the shipment's packages by id, when the caller has read them (they
    are updated in place: label status, tracking id)."""
    from fulfillment.documents.errors import DocumentError

    if packages is None:
        packages = {p.package_id: p for p in shipment.packages.all()}
    failures, stored = [], []
    # One time budget for every download of this step: a slow label source frees the worker by then.
    deadline = time.monotonic() + float(settings.AMAZON_LABEL_DOWNLOAD_SECONDS)
    for label in answers:
        package = packages.get(label.package_id or "")
        if package is None:
            continue
        error = _label_error(label)
        if error is None:
            try:
                stored.append(_fetch_and_store_label(shipment, client, package, label, reason, user, deadline))
                continue
            except LabelUrlExpired:
                options = dict(label_options or {})
                if options.get("shipping_option_id"):
                    options["shipping_option_id"] = label_option_id(shipment, [package]) or options["shipping_option_id"]
                again = client.generate_ship_labels(shipment.amazon_id, package_ids=[package.package_id],
                                                    operation="GENERATE", **options)
                retry = next((x for x in again.package_ship_label_list if x.package_id == package.package_id), None)
                error = _label_error(retry) if retry else "Amazon sent no label for this package."
                if error is None:
                    try:
                        stored.append(_fetch_and_store_label(shipment, client, package, retry, reason, user,
                                                             deadline))
                        continue
                    except (AmazonError, DocumentError) as exc:
                        error = exc.packer_message
            except (AmazonError, DocumentError) as exc:
                error = exc.packer_message
        package.label_status, package.label_error = Package.LabelStatus.FAILED, error
        package.save(update_fields=["label_status", "label_error", "updated_at"])
        failures.append(f"{package.package_id}: {error}")
    return stored, failures


def _label_error(label: schemas.PackageShipLabel) -> str | None:
    errored = (label.model_extra or {}).get("isErrored") if label.model_extra else None
    if label.status == "FAILURE" or errored or label.file_data is None:
        details = label.error_details
        said = f"{details.message} ({details.code})" if details else "no label was returned"
        return f"Amazon could not make this label: {said}."
    return None


def _fetch_and_store_label(shipment, client, package: Package, label: schemas.PackageShipLabel, reason: str,
                           user, deadline: float) -> int:
    """Download one label and store it, once it is known to be a label file (`formats.checked_label`):
    anything else raises (AmazonError or DocumentError) with nothing stored, the current label kept."""
    from fulfillment.documents import formats

    fetched = client.fetch_label(label.file_data.url, deadline=deadline)
    checked = formats.checked_label(fetched.content)
    metadata = label.ship_label_metadata
    with transaction.atomic():
        lock_shipment(package.shipment_id)  # before the package, as the sync does (services/locking.py)
        document, created = _store_once(
            package.shipment, package, Document.Kind.LABEL, fetched.content, original_format=checked.kind,
            content_type=checked.media_type, tracking_id=metadata.tracking_id if metadata else "",
            carrier_name=metadata.carrier_name if metadata else "", source_url=label.file_data.url.split("?", 1)[0],
            regenerate_reason=reason,
        )
        package.label_status, package.label_error = Package.LabelStatus.READY, ""
        if created:
            package.label_printed_at = None
        if metadata:
            package.tracking_id, package.carrier_name = metadata.tracking_id, metadata.carrier_name
        package.save(update_fields=["label_status", "label_error", "label_printed_at", "tracking_id", "carrier_name",
                                    "updated_at"])
        if created:
            record_event(package.shipment, ShipmentEvent.Kind.DOCUMENT_STORED,
                         f"Label for {package.package_id} stored ({document.original_format}"
                         f"{', tracking ' + document.tracking_id if document.tracking_id else ''}).",
                         user=user, data={"document": document.pk, "package": package.package_id})
    return document.pk
