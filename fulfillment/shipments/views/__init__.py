"""The packing station screens. Views parse the request, call a service or selector and render
a page or an HTMX fragment; the workflow's rules live in `workflow` and `services`.

Every Amazon step is asked for with `services.request_step` (idempotent: a double click returns
the same step) and runs in the background; the page polls the step (`step_status`), or a running
Pack & label chain as a whole (`chain_status`), every second and reloads the shipment
(`step-finished`) when it ends.

Who may do what: packers, supervisors and admins see every station screen; only packers and
admins act (every POST). An action on a shipment also needs its claim: while another packer
holds the shipment nothing is done and the packer is told who has it. Every screen is at a station of
the user's locations, and shows only that station's location (`station_view`, accounts.locations).
"""

from .documents import (
    document_download,
    document_pdf,
    label_printed,
    packing_slip,
    print_all_labels,
    print_label,
)
from .mfn import mfn_label_check, mfn_step
from .packages import check_serial, choose_option, pack_and_label, packages, regenerate_labels
from .queue import open_shipment, queue, queue_list, sync
from .scanning import (
    command_sheet,
    label_preview,
    print_document,
    scale_reading,
    scan,
    supervisor_label_preview,
)
from .shipment import (
    body,
    chain_status,
    detail,
    header,
    reject,
    run_step,
    skip_verification,
    step_status,
    verify,
)

__all__ = [
    "body", "chain_status", "check_serial", "choose_option", "command_sheet", "detail", "document_download",
    "document_pdf", "header", "label_preview", "label_printed", "mfn_label_check", "mfn_step", "open_shipment",
    "pack_and_label", "packages", "packing_slip", "print_all_labels", "print_document",
    "print_label", "queue", "queue_list", "regenerate_labels", "reject", "run_step",
    "scale_reading", "scan", "skip_verification", "step_status", "supervisor_label_preview",
    "sync", "verify",
]
