"""Seller-fulfilled (MFN) Amazon orders at the station: their sync and their step handlers.

An MFN order is stored as a `Shipment` (channel MFN, amazon_id = AmazonOrderId) with one line per
order item, so it joins the same queue and is packed with the same package form. Its steps are in
the one registry (step_kinds: MFN_*). Per package: a label bought through Merchant Fulfillment
(the cheapest service that leaves by the order's ship-by, or the one the packer chose), printed
like any label, then the package confirmed shipped with confirmShipment under a packageReferenceId
STORED BEFORE the request goes (Amazon never says it back; a correction repeats it with the same
items and quantities). Store pickup orders go Ready for pickup, then Picked up or Refused.

Amazon's own settings may confirm a package when its label is bought: a confirmation therefore
reads the order's packages first (getOrder 2026-01-01, PACKAGES); a package Amazon holds under the
label's tracking number is adopted with Amazon's reference id and nothing is sent, and a new
reference id is one neither side used, so it can never "correct" another package.

`sync` reads the orders; `steps` holds the handlers and the re-read after an unclear answer;
`recovery` settles a label purchase whose answer was lost (a supervisor's word on Seller Central).
"""


from .recovery import label_not_bought, mfn_adopt_label
from .steps import (
    BUYING,
    already_done,
    label_request,
    mfn_buy_label,
    mfn_confirm,
    mfn_correct,
    mfn_fetch_label,
    mfn_picked_up,
    mfn_ready_for_pickup,
    mfn_refused,
    mfn_services,
    mfn_void_label,
    next_reference_id,
    package_items,
    ship_from,
)
from .sync import (
    MFN_CURSOR,
    MfnSyncResult,
    create_order_shipment,
    sync_mfn_account,
    update_order_shipment,
)

__all__ = [
    "BUYING", "MFN_CURSOR", "MfnSyncResult", "already_done", "create_order_shipment", "label_not_bought",
    "label_request", "mfn_adopt_label", "mfn_buy_label", "mfn_confirm", "mfn_correct", "mfn_fetch_label", "mfn_picked_up", "mfn_ready_for_pickup",
    "mfn_refused", "mfn_services", "mfn_void_label", "next_reference_id", "package_items", "ship_from",
    "sync_mfn_account", "update_order_shipment",
]
