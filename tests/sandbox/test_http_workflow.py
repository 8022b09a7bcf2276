"""The sandbox over real HTTP: the full workflow of each programme, out-of-order calls, labels, invoices."""

from __future__ import annotations

import base64
import time

import httpx

from tests.sandbox.builders import line_entry, package, packages_for


def _packed(api, sandbox, **shape):
    shipment = sandbox.create_shipment(**shape)
    sid = shipment["id"]
    assert api.process_shipment(sid, "CONFIRM").status_code == 204
    packages = packages_for(shipment)
    response = api.create_packages(sid, packages)
    assert response.status_code == 204, response.text
    return sid, packages


def test_easy_ship_in_goes_from_accepted_to_shipped(api, sandbox):
    shipment = sandbox.create_shipment(
        programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"], units=2
    )
    sid = shipment["id"]
    assert api.get_shipment(sid).json()["status"] == "ACCEPTED"

    assert api.process_shipment(sid, "CONFIRM").status_code == 204
    assert api.get_shipment(sid).json()["status"] == "CONFIRMED"

    assert api.create_packages(sid, packages_for(shipment)).status_code == 204
    stored = api.get_shipment(sid).json()
    assert stored["status"] == "PACKAGE_CREATED"
    assert [p["id"] for p in stored["packages"]] == ["PKG-1"]

    options = api.retrieve_shipping_options(sid, "PKG-1").json()
    assert options["recommendedShippingOption"] == options["shippingOptions"][0]
    assert {o["timeSlot"]["handoverMethod"] for o in options["shippingOptions"]} == {
        "PICKUP",
        "DROPOFF",
    }
    dropoff = next(
        o for o in options["shippingOptions"] if o["timeSlot"]["handoverMethod"] == "DROPOFF"
    )
    assert dropoff["handoverLocation"]["address"]["postalCode"]
    window = options["recommendedShippingOption"]["pickupWindow"]
    assert window["endTime"] - window["startTime"] == 3 * 3600
    assert api.get_shipment(sid).json()["status"] == "PICKUP_SLOT_RETRIEVED"

    invoice = api.generate_invoice(sid).json()["document"]
    assert api.retrieve_invoice(sid).json()["document"] == invoice
    after_invoice = api.get_shipment(sid).json()
    assert after_invoice["status"] == "INVOICE_GENERATED"
    assert after_invoice["shipmentRequirements"]["invoice"]["status"] == "AVAILABLE"
    assert after_invoice["invoiceInfo"]["invoiceId"]

    option_id = options["recommendedShippingOption"]["shippingOptionId"]
    labels = api.generate_ship_labels(sid, ["PKG-1"], shipping_option_id=option_id).json()[
        "packageShipLabelList"
    ]
    assert labels[0]["status"] == "SUCCESS"
    assert (
        labels[0]["shipLabelMetadata"]["carrierName"]
        == options["recommendedShippingOption"]["carrierName"]
    )
    assert api.get_shipment(sid).json()["status"] == "SHIPLABEL_GENERATED"

    label = httpx.get(labels[0]["fileData"]["url"])
    assert label.status_code == 200
    assert label.headers["content-type"].startswith(
        {"ZPL": "x.application/zpl", "PNG": "image/png", "PDF": "application/pdf"}[
            sandbox.state(sid)["label_format"]
        ]
    )

    assert api.update_package_status(sid, "PKG-1").status_code == 204
    final = api.get_shipment(sid).json()
    assert final["status"] == "SHIPPED"
    assert final["packages"][0]["status"] == "SHIPPED"
    assert [c["operation"] for c in sandbox.calls(shipment_id=sid)][:3] == [
        "getShipment",
        "processShipment",
        "getShipment",
    ]


def test_zpl_label_is_a_real_zebra_job_with_the_tracking_barcode(api, sandbox):
    sid, _ = _packed(
        api,
        sandbox,
        programme="seller_flex",
        marketplace="IN",
        skus=["PNG-9780143450191"],
        label_format="ZPL",
    )
    api.generate_invoice(sid)
    label = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"][0]
    tracking = label["shipLabelMetadata"]["trackingId"]
    zpl = httpx.get(label["fileData"]["url"])
    assert zpl.headers["content-type"] == "x.application/zpl"
    text = zpl.text.strip()
    assert text.startswith("^XA") and text.endswith("^XZ")
    assert f"^BCN,220,Y,N,N^FD{tracking}^FS" in text


def test_seller_flex_gets_no_shipping_options_and_may_go_straight_to_invoice(api, sandbox):
    sid, _ = _packed(
        api,
        sandbox,
        programme="seller_flex",
        marketplace="IN",
        skus=["BOSCH-GSB-180-LI-KIT"],
        units=2,
    )
    assert api.generate_invoice(sid).status_code == 200  # PACKAGE_CREATED -> INVOICE_GENERATED
    assert api.retrieve_shipping_options(sid, "PKG-1").json() == {"shippingOptions": []}
    labels = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"]
    assert labels[0]["shipLabelMetadata"]["carrierName"] == "ATS"
    assert labels[0]["shipLabelMetadata"]["pickupWindow"]["startTime"] > time.time()


def test_easy_ship_outside_india_has_no_invoice_and_labels_follow_the_pickup_slot(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="easy_ship", marketplace="DE", skus=["DAVIDOFF-CW-EDT-100"]
    )
    option = api.retrieve_shipping_options(sid, "PKG-1").json()["recommendedShippingOption"]
    refused = api.generate_invoice(sid)
    assert refused.status_code == 422
    assert "only in IN" in refused.json()["errors"][0]["message"]
    assert api.retrieve_invoice(sid).status_code == 404  # the model lists no 422 here
    labels = api.generate_ship_labels(sid, ["PKG-1"], shipping_option_id=option["shippingOptionId"])
    assert labels.status_code == 200
    assert api.get_shipment(sid).json()["status"] == "SHIPLABEL_GENERATED"


def test_easy_ship_labels_need_an_offered_shipping_option(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    api.retrieve_shipping_options(sid, "PKG-1")
    api.generate_invoice(sid)
    assert api.generate_ship_labels(sid, ["PKG-1"]).status_code == 400
    assert (
        api.generate_ship_labels(sid, ["PKG-1"], shipping_option_id="not-offered").status_code
        == 422
    )


def test_self_ship_labels_carry_the_sellers_carrier_and_tracking(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="self_ship", marketplace="US", skus=["LEGO-60337-CITY"]
    )
    options = api.retrieve_shipping_options(sid, "PKG-1").json()
    assert options["shippingOptions"][0]["shipBy"] == "SELLER"
    api.generate_invoice(sid)
    assert (
        api.generate_ship_labels(sid, ["PKG-1"]).status_code == 400
    )  # courierSupportedAttributes missing
    courier = {"carrierName": "UPS", "trackingId": "1Z999AA10123456784"}
    label = api.generate_ship_labels(sid, ["PKG-1"], courier=courier).json()[
        "packageShipLabelList"
    ][0]
    assert label["shipLabelMetadata"]["trackingId"] == "1Z999AA10123456784"


def test_out_of_order_calls_are_409_in_amazons_shape(api, sandbox):
    shipment = sandbox.create_shipment(
        programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    sid = shipment["id"]
    early = api.create_packages(sid, packages_for(shipment))
    assert early.status_code == 409
    error = early.json()["errors"][0]
    assert error["code"] == "InvalidState" and "ACCEPTED" in error["message"]
    api.process_shipment(sid, "CONFIRM")
    assert api.process_shipment(sid, "CONFIRM").status_code == 409  # a second confirm is refused
    assert api.generate_invoice(sid).status_code == 409
    assert api.retrieve_invoice(sid).status_code == 409
    api.create_packages(sid, packages_for(shipment))
    assert api.generate_invoice(sid).status_code == 409  # shipping options first (not Seller Flex)
    assert api.generate_ship_labels(sid, ["PKG-1"], shipping_option_id="x").status_code == 409
    assert api.update_package_status(sid, "PKG-1").status_code == 409


def test_update_package_sends_the_shipment_back_to_package_created(api, sandbox):
    sid, packages = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    api.generate_invoice(sid)
    first = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"][0]
    heavier = {**packages[0], "weight": {"value": "1.2", "weightUnit": "KG"}}
    assert api.update_package(sid, "PKG-1", heavier).status_code == 204
    shipment = api.get_shipment(sid).json()
    assert shipment["status"] == "PACKAGE_CREATED"
    assert shipment["packages"][0]["weight"] == {"value": "1.2", "weightUnit": "KG"}
    assert shipment["packages"][0]["status"] == "CREATED"
    assert api.retrieve_invoice(sid).status_code == 409  # the invoice has to be generated again
    api.generate_invoice(sid)
    second = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"][0]
    assert second["shipLabelMetadata"]["trackingId"] != first["shipLabelMetadata"]["trackingId"]


def test_update_package_body_must_name_the_same_package(api, sandbox):
    sid, packages = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    assert api.update_package(sid, "PKG-1", {**packages[0], "id": "OTHER"}).status_code == 400
    assert api.update_package(sid, "NOPE", {**packages[0], "id": "NOPE"}).status_code == 404


def test_generate_again_returns_the_same_labels_and_regenerate_makes_new_ones(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    api.generate_invoice(sid)
    first = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"][0]
    again = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"][0]
    assert again["shipLabelMetadata"]["trackingId"] == first["shipLabelMetadata"]["trackingId"]
    new = api.generate_ship_labels(sid, ["PKG-1"], operation="REGENERATE").json()[
        "packageShipLabelList"
    ][0]
    assert new["shipLabelMetadata"]["trackingId"] != first["shipLabelMetadata"]["trackingId"]
    state = sandbox.state(sid)
    assert (
        state["labels"]["PKG-1"]["shipLabelMetadata"]["trackingId"]
        == new["shipLabelMetadata"]["trackingId"]
    )
    assert [label["trackingId"] for label in state["served_labels"]] == [
        first["shipLabelMetadata"]["trackingId"]
    ]


def test_regenerate_before_any_label_is_refused(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    api.generate_invoice(sid)
    assert api.generate_ship_labels(sid, ["PKG-1"], operation="REGENERATE").status_code == 409


def test_one_package_label_can_fail_inside_a_200(api, sandbox):
    shipment = sandbox.create_shipment(
        programme="seller_flex",
        marketplace="IN",
        skus=["MILTON-THERMO-1000-SS", "PNG-9780143450191"],
    )
    sid = shipment["id"]
    api.process_shipment(sid, "CONFIRM")
    first, second = shipment["lineItems"]
    boxes = [
        package("A", [(first, line_entry(first, 1))]),
        package("B", [(second, line_entry(second, 1))]),
    ]
    assert api.create_packages(sid, boxes).status_code == 204
    api.generate_invoice(sid)
    sandbox.configure(fail_next_labels=1)
    answer = api.generate_ship_labels(sid, ["A", "B"])
    assert answer.status_code == 200
    results = {r["packageId"]: r for r in answer.json()["packageShipLabelList"]}
    assert results["A"]["status"] == "FAILURE" and results["A"]["errorDetails"]["message"]
    assert results["B"]["status"] == "SUCCESS"
    assert (
        api.get_shipment(sid).json()["status"] == "INVOICE_GENERATED"
    )  # not every package has a label yet
    retry = api.generate_ship_labels(sid, ["A"]).json()["packageShipLabelList"][0]
    assert retry["status"] == "SUCCESS"
    assert api.get_shipment(sid).json()["status"] == "SHIPLABEL_GENERATED"


def test_label_ids_are_checked(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    api.generate_invoice(sid)
    assert api.generate_ship_labels(sid, ["NOPE"]).status_code == 404
    assert api.generate_ship_labels(sid, ["PKG-1", "PKG-1"]).status_code == 400
    assert (
        api.generate_ship_labels(sid, [f"P{n}" for n in range(51)]).status_code == 400
    )  # at most 50
    assert api.generate_ship_labels(sid, []).status_code == 400


def test_label_url_expires_like_an_s3_presigned_url(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    api.generate_invoice(sid)
    sandbox.configure(label_url_ttl_seconds=0)
    url = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"][0]["fileData"][
        "url"
    ]
    assert "X-Amz-Expires=0" in url and "X-Amz-Signature=" in url
    time.sleep(1.1)
    expired = httpx.get(url)
    assert expired.status_code == 403
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.content
    forged = httpx.get(url.replace("X-Amz-Expires=0", "X-Amz-Expires=9999"))
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    sandbox.configure(label_url_ttl_seconds=300)
    fresh_url = api.generate_ship_labels(sid, ["PKG-1"]).json()["packageShipLabelList"][0][
        "fileData"
    ]["url"]
    assert httpx.get(fresh_url).status_code == 200


def test_marking_shipped_after_the_carrier_scan_is_a_duplicate(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    api.generate_invoice(sid)
    api.generate_ship_labels(sid, ["PKG-1"])
    sandbox.carrier_scan(sid)
    duplicate = api.update_package_status(sid, "PKG-1")
    assert duplicate.status_code == 409
    error = duplicate.json()["errors"][0]
    assert error["code"] == "DuplicateRequest" and "already shipped" in error["message"]
    assert api.get_shipment(sid).json()["status"] == "SHIPPED"


def test_reject_cancels_the_shipment_with_the_sellers_reason(api, sandbox):
    shipment = sandbox.create_shipment(
        programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    sid = shipment["id"]
    assert api.process_shipment(sid, "REJECT").status_code == 400  # a rejection needs its body
    body = {
        "referenceId": "rej-1",
        "lineItems": [{"lineItem": {"id": "1", "quantity": 1}, "reason": "OUT_OF_STOCK"}],
    }
    assert api.process_shipment(sid, "REJECT", body).status_code == 204
    cancelled = api.get_shipment(sid).json()
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["lineItems"][0]["cancellations"][0]["cancellationType"] == "SELLER_REJECTED"
    assert api.process_shipment(sid, "CONFIRM").status_code == 409


def test_marketplace_cancel_mid_flow_stops_further_steps(api, sandbox):
    sid, _ = _packed(
        api, sandbox, programme="seller_flex", marketplace="IN", skus=["MILTON-THERMO-1000-SS"]
    )
    sandbox.cancel(sid, "Buyer changed their mind")
    shipment = api.get_shipment(sid).json()
    assert shipment["status"] == "CANCELLED"
    assert (
        shipment["lineItems"][0]["cancellations"][0]["cancellationType"] == "MARKETPLACE_CANCELLED"
    )
    assert api.generate_invoice(sid).status_code == 409


def _decoded(document):
    return base64.b64decode(document["content"])


def test_invoices_come_in_the_shapes_seen_in_the_wild(api, sandbox):
    seen = {}
    for shape in ("pdf", "png_as_pdf", "base64_pdf_text", "text"):
        sid, _ = _packed(
            api,
            sandbox,
            programme="seller_flex",
            marketplace="IN",
            skus=["MILTON-THERMO-1000-SS"],
            invoice_shape=shape,
        )
        seen[shape] = api.generate_invoice(sid).json()["document"]
    assert seen["pdf"]["format"] == "PDF" and _decoded(seen["pdf"]).startswith(b"%PDF-1.4")
    assert _decoded(seen["pdf"]).rstrip().endswith(b"%%EOF")
    assert seen["png_as_pdf"]["format"] == "PDF" and _decoded(seen["png_as_pdf"]).startswith(
        b"\x89PNG\r\n\x1a\n"
    )
    assert seen["base64_pdf_text"]["format"] == "PLAIN_TEXT"
    assert base64.b64decode(_decoded(seen["base64_pdf_text"])).startswith(b"%PDF-")
    assert seen["text"]["format"] == "PLAIN_TEXT" and b"TAX INVOICE" in _decoded(seen["text"])


def test_invoice_shape_can_be_forced_for_every_shipment(api, sandbox):
    sandbox.configure(invoice_shape="text")
    sid, _ = _packed(
        api,
        sandbox,
        programme="seller_flex",
        marketplace="IN",
        skus=["MILTON-THERMO-1000-SS"],
        invoice_shape="pdf",
    )
    assert api.generate_invoice(sid).json()["document"]["format"] == "PLAIN_TEXT"


def test_a_rejection_keeps_each_lines_own_reason(api, sandbox):
    shipment = sandbox.create_shipment(
        programme="easy_ship", marketplace="IN", skus=["MILTON-THERMO-1000-SS", "TPLINK-ARCHER-C6"]
    )
    sid = shipment["id"]
    first, second = (line["shipmentLineItemId"] for line in shipment["lineItems"])
    body = {
        "referenceId": "rej-2",
        "lineItems": [
            {"lineItem": {"id": first, "quantity": 1}, "reason": "OUT_OF_STOCK"},
            {"lineItem": {"id": second, "quantity": 1}, "reason": "CUSTOMER_REQUESTED"},
        ],
    }
    assert api.process_shipment(sid, "REJECT", body).status_code == 204
    lines = {
        line["shipmentLineItemId"]: line["cancellations"][0]["cancellationReason"]
        for line in api.get_shipment(sid).json()["lineItems"]
    }
    assert lines == {first: "OUT_OF_STOCK", second: "CUSTOMER_REQUESTED"}
