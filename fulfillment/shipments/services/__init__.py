"""Everything that changes a shipment, one module per concern; imports run one way:

    events ← sync, documents, steps, printing, scanning
    sync ← progress (a step's success moves the status, as the step registry says)
    steps ← packages ← chain (with printing) ← runner
    chain, scanning, printing ← scanpack (scan to pack: cartons, serials, command barcodes)
    sync, documents, packages, progress ← handlers ← runner (with leases) ← tasks
    sync, documents, progress ← mfn (seller-fulfilled orders: their sync and step handlers) ← handlers

`steps` queues the Celery task by name, so nothing here imports `tasks`.

Amazon steps go through `steps.request_step` (writes a ShipmentStep, queues it after commit) and
`runner.run_step` (the Celery task's body); what each kind does is declared once in
`fulfillment.shipments.step_kinds` (below services: workflow reads it too). Each service records ShipmentEvents with the acting
user. Errors the packer must act on are `workflow.ShipmentError`s (`.packer_message`); Amazon's own
failures end the step FAILED with the error's `packer_message`, the typed payload kept on it.

Callers import the services from here (`services.request_step`); tests that stand in for the
worker patch `steps.enqueue_step`.
"""

from ..workflow import (
    PackageInput,
    PackageItemInput,
    PackageValidationError,
    ShipmentError,
    StepNotAllowed,
)
from .chain import PACK_AND_LABEL, end_chain, start_pack_and_label
from .documents import ensure_packing_slip, store_ship_labels
from .events import record_event
from .mfn import MfnSyncResult, sync_mfn_account
from .packages import choose_shipping_option, package_payload, save_packages, submit_packages
from .printing import print_document, print_label, prints_silently, record_label_printed
from .progress import advance
from .runner import STEP_RUNS, reconcile_steps, run_chain, run_step, stalled_step_ids
from .scanning import ScanResult, reset_verification, skip_verification, verify_scan
from .steps import request_label_regeneration, request_step
from .sync import (
    SYNC_STATUSES,
    SyncResult,
    refresh_shipment,
    store_shipment_page,
    sync_account,
    sync_stations,
    upsert_shipment,
)

__all__ = [
    "PACK_AND_LABEL",
    "MfnSyncResult",
    "sync_mfn_account",
    "STEP_RUNS",
    "SYNC_STATUSES",
    "PackageInput",
    "PackageItemInput",
    "PackageValidationError",
    "ScanResult",
    "ShipmentError",
    "StepNotAllowed",
    "SyncResult",
    "advance",
    "choose_shipping_option",
    "end_chain",
    "ensure_packing_slip",
    "package_payload",
    "print_document",
    "print_label",
    "prints_silently",
    "reconcile_steps",
    "record_event",
    "record_label_printed",
    "refresh_shipment",
    "request_label_regeneration",
    "request_step",
    "reset_verification",
    "run_chain",
    "run_step",
    "save_packages",
    "skip_verification",
    "stalled_step_ids",
    "start_pack_and_label",
    "store_ship_labels",
    "store_shipment_page",
    "submit_packages",
    "sync_account",
    "sync_stations",
    "upsert_shipment",
    "verify_scan",
]
