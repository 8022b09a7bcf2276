"""Valid request bodies for a shipment, built the way a packer would fill them in."""

from __future__ import annotations


def _pieces_per_unit(line: dict) -> int:
    for attribute in line.get("customAttributes", []):
        if attribute["key"] == "numberOfPieces":
            return int(attribute["value"])
    return 1


def line_entry(
    line: dict, quantity: int, *, serial_start: int = 0, pieces: int | None = None
) -> dict:
    rules = line["complianceAttributes"]
    entry = {"packageLineItemId": line["shipmentLineItemId"], "quantity": quantity}
    if rules["serialNumberRequirement"] == "REQUIRED":
        entry["serialNumbers"] = [
            f"SN{line['shipmentLineItemId']}-{serial_start + n:05d}" for n in range(quantity)
        ]
    if rules["countryOfOriginRequirement"] == "REQUIRED":
        entry["countryOfOrigin"] = line.get("recommendedCountryOfOrigin", "IN")
    if rules["itemValueRequirement"] == "REQUIRED":
        entry["itemValue"] = {
            "value": "25.00",
            "currencyCode": line.get("recommendedCurrencyCode", "INR"),
        }
    if pieces is not None:
        entry["pieces"] = pieces
    return entry


def package(package_id: str, lines: list[tuple[dict, dict]], grams: str = "850") -> dict:
    """lines: (shipment line, package line entry)."""
    body = {
        "id": package_id,
        "dimensions": {
            side: {"value": value, "dimensionUnit": "CM"}
            for side, value in (("length", "30"), ("width", "20"), ("height", "10"))
        },
        "weight": {"value": grams, "weightUnit": "G"},
        "packageLineItems": [entry for _, entry in lines],
    }
    labels = sorted(
        {
            label
            for line, _ in lines
            for label in line.get("hazmatLabels", [])
            if line["complianceAttributes"]["hazmatLabelsRequirement"] == "REQUIRED"
        }
    )
    if any(
        line["complianceAttributes"]["hazmatLabelsRequirement"] == "REQUIRED" for line, _ in lines
    ):
        body["hazmatLabels"] = labels or ["UN3481"]
    return body


def packages_for(shipment: dict, prefix: str = "PKG") -> list[dict]:
    """Single-piece lines share one box; each piece of a multi-piece unit gets its own box."""
    packages, loose = [], []
    for line in shipment["lineItems"]:
        if line.get("pieceType") == "MULTIPLE":
            for unit in range(line["numberOfUnits"]):
                for piece in range(_pieces_per_unit(line)):
                    entry = line_entry(line, 1 if piece == 0 else 0, serial_start=unit, pieces=1)
                    packages.append(
                        package(
                            f"{prefix}-{line['shipmentLineItemId']}-{unit + 1}-{piece + 1}",
                            [(line, entry)],
                            "12000",
                        )
                    )
        else:
            loose.append((line, line_entry(line, line["numberOfUnits"])))
    if loose:
        packages.insert(0, package(f"{prefix}-1", loose))
    return packages


# --- MFN orders: shipment confirmations and label requests ----------------------------------------


def confirmation(
    state: dict,
    reference: str,
    items: dict[str, int],
    *,
    carrier: str = "UPS",
    tracking: str = "1Z999AA10123456784",
    ship_date: str | None = None,
    **detail,
) -> dict:
    """A confirmShipment body for one package of the order whose sandbox state is `state`."""
    order = state["order"]
    return {
        "marketplaceId": order["MarketplaceId"],
        "packageDetail": {
            "packageReferenceId": reference,
            "carrierCode": carrier,
            "trackingNumber": tracking,
            "shipDate": ship_date or order["PurchaseDate"],
            "orderItems": [{"orderItemId": i, "quantity": n} for i, n in items.items()],
            **detail,
        },
    }


def label_request(
    state: dict,
    items: dict[str, int] | None = None,
    *,
    grams: float = 900,
    dims: tuple[float, float, float] = (30, 20, 10),
    experience: str | None = None,
    label_format: str | None = None,
    pickup: bool = False,
    **extra,
) -> dict:
    """ShipmentRequestDetails for a box of the order (default: every unit), sent from its location."""
    from fulfillment.sandbox.core.catalogue import marketplace, warehouse_address

    order = state["order"]
    if items is None:
        items = {
            i["OrderItemId"]: i["QuantityOrdered"] - i["QuantityShipped"] for i in state["items"]
        }
    signature = any(
        i.get("ShippingConstraints", {}).get("SignatureConfirmation") == "MANDATORY"
        for i in state["items"]
        if i["OrderItemId"] in items
    )
    options = {
        "DeliveryExperience": experience
        or (
            "DeliveryConfirmationWithSignature"
            if signature
            else "DeliveryConfirmationWithoutSignature"
        ),
        "CarrierWillPickUp": pickup,
    }
    if label_format:
        options["LabelFormat"] = label_format
    length, width, height = dims
    return {
        "AmazonOrderId": order["AmazonOrderId"],
        "ItemList": [{"OrderItemId": i, "Quantity": n} for i, n in items.items()],
        "ShipFromAddress": warehouse_address(
            state["locationId"], marketplace(order["MarketplaceId"])
        ),
        "PackageDimensions": {
            "Length": length,
            "Width": width,
            "Height": height,
            "Unit": "centimeters",
        },
        "Weight": {"Value": grams, "Unit": "g"},
        "ShippingServiceOptions": options,
        **extra,
    }
