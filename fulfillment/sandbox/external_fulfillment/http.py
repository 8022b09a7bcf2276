"""SmartConnect's operations as HTTP handlers: a request (core.api.Call) in, (status, body) out."""

from __future__ import annotations

from ..core.api import Call


def get_shipments(api, call: Call):
    return 200, api.get_shipments(call.query, seller=call.seller)


def get_shipment(api, call: Call):
    return 200, api.get_shipment(call.path["shipmentId"])


def process_shipment(api, call: Call):
    api.process_shipment(call.path["shipmentId"], call.query.get("operation"), call.body)
    return 204, None


def create_packages(api, call: Call):
    api.create_packages(call.path["shipmentId"], call.body)
    return 204, None


def update_package(api, call: Call):
    api.update_package(call.path["shipmentId"], call.path["packageId"], call.body)
    return 204, None


def update_package_status(api, call: Call):
    sid, pid = call.path["shipmentId"], call.path["packageId"]
    api.update_package_status(sid, pid, call.query, call.body)
    return 204, None


def retrieve_shipping_options(api, call: Call):
    return 200, api.retrieve_shipping_options(call.path["shipmentId"], call.query.get("packageId"))


def generate_invoice(api, call: Call):
    return 200, api.generate_invoice(call.path["shipmentId"])


def retrieve_invoice(api, call: Call):
    return 200, api.retrieve_invoice(call.path["shipmentId"])


def generate_ship_labels(api, call: Call):
    return 200, api.generate_ship_labels(
        call.path["shipmentId"], call.query, call.body, base_url=call.base_url
    )


HANDLERS = {
    "getShipments": get_shipments,
    "getShipment": get_shipment,
    "processShipment": process_shipment,
    "createPackages": create_packages,
    "updatePackage": update_package,
    "updatePackageStatus": update_package_status,
    "retrieveShippingOptions": retrieve_shipping_options,
    "generateInvoice": generate_invoice,
    "retrieveInvoice": retrieve_invoice,
    "generateShipLabels": generate_ship_labels,
}
