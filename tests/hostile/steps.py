"""Taking a sandbox shipment up to a step, as a packer would, without a browser."""

from fulfillment.shipments import services, workflow
from fulfillment.shipments.models import ShipmentStep
from tests.shipments.test_flows_sandbox import one_box, run


def work_until(shipment, packer, capture, kind=ShipmentStep.Kind.LABELS):
    """Follow next_action until it offers `kind` (not done)."""
    for _ in range(10):
        action = workflow.next_action(shipment)
        if action.kind == kind:
            return shipment
        if action.kind == workflow.VERIFY:
            shipment.verified_at = shipment.synced_at
            shipment.save()
        elif action.kind == workflow.PACK:
            services.save_packages(shipment, one_box(shipment), packer)
        elif action.kind == workflow.CHOOSE_OPTION:
            services.choose_shipping_option(shipment, shipment.shipping_options.first(), packer)
        else:
            run(shipment, action.kind, packer, capture=capture)
    raise AssertionError(f"{shipment.amazon_id} never offered {kind}")
