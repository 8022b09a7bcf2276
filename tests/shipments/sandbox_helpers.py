"""Making sandbox shipments for the flow tests and reading back what the sandbox holds."""

from fulfillment.sandbox.seed import MARKETPLACE_BY_ID
from fulfillment.shipments import services

SKU_PLAIN = "MILTON-THERMO-1000-SS"
SKU_WITH_SERIAL = "TPLINK-ARCHER-C6"  # serial number required, no hazmat


def create_shipment(amazon, *, programme="EASY_SHIP", marketplace_id, serials=False, units=1, **shape):
    """A fresh ACCEPTED shipment in the sandbox, then read into our tables as a sync would."""
    created = amazon.create_shipment(
        programme=programme.lower(),
        marketplace=MARKETPLACE_BY_ID[marketplace_id].code,
        skus=[SKU_WITH_SERIAL if serials else SKU_PLAIN],
        units=units,
        **shape,
    )
    return services.refresh_shipment(created["id"])


def package_ids_at_amazon(amazon, shipment):
    return sorted(package["id"] for package in amazon.state(shipment.amazon_id)["shipment"].get("packages") or [])
