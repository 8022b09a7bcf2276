"""SmartConnect: Amazon's External Fulfillment Shipments API 2024-09-11, as the sandbox plays it.

Paths under /externalFulfillment/2024-09-11/shipments, bodies and answers as the model
(fulfillment/amazon/contract/externalFulfillmentShipments_2024-09-11.json) has them.
Each operation is held to 1 request/s, burst 1 (guide 003; the model states no plan).

Shipment state machine (guide 003 §3.2-3.4 and 002's step table; where they differ the model wins):

    operation                 accepted in                                   moves to
    processShipment CONFIRM   ACCEPTED                                      CONFIRMED
    processShipment REJECT    shipmentInfo.orderStatesEligibleForRejection  CANCELLED (SELLER_REJECTED)
    createPackages            CONFIRMED                                     PACKAGE_CREATED
    updatePackage             PACKAGE_CREATED .. SHIPLABEL_GENERATED        PACKAGE_CREATED (invoice and
                                                                            labels dropped: regenerate them)
    retrieveShippingOptions   PACKAGE_CREATED                               PICKUP_SLOT_RETRIEVED
                              PICKUP_SLOT_RETRIEVED .. SHIPLABEL_GENERATED  unchanged (another package / re-read)
    generateInvoice           PICKUP_SLOT_RETRIEVED                         INVOICE_GENERATED
                              PACKAGE_CREATED, Seller Flex only             INVOICE_GENERATED (its slot is fixed,
                                                                            options are empty: the step may be skipped)
                              INVOICE_GENERATED, SHIPLABEL_GENERATED        unchanged (same invoice)
                              Easy Ship outside IN: refused, 422 (no invoice in that programme)
    retrieveInvoice           once an invoice exists                        unchanged; 409 before generateInvoice,
                                                                            404 where the programme has none
    generateShipLabels        INVOICE_GENERATED (programmes with invoice)   SHIPLABEL_GENERATED once every
      GENERATE                PICKUP_SLOT_RETRIEVED (no-invoice programmes)  package has a label
                              SHIPLABEL_GENERATED, SHIPPED                  unchanged; same labels again
      REGENERATE              packages that have a label                    unchanged; new labels, new tracking
    updatePackageStatus       package with a label (SHIPLABEL_GENERATED)    package SHIPPED; shipment SHIPPED
      SHIPPED                                                               when every package is; 409
                                                                            DuplicateRequest when already shipped
                                                                            (e.g. the carrier scanned it)
    marketplace cancel        anything before SHIPPED                       CANCELLED (MARKETPLACE_CANCELLED)

Anything else is an out-of-order call: 409 InvalidState. CANCELLED, SHIPPED and DELIVERED are terminal.
Package status mirrors the shipment (CREATED, PICKUP_SLOT_RETRIEVED, INVOICE_GENERATED) and then
goes per package: SHIPLABEL_GENERATED when it has a label, SHIPPED.

Errors answer in Amazon's shape {"errors": [{"code", "message", "details"}]}: 400 malformed/against
the model's schema, 404 unknown shipment/package, 409 wrong state, 422 business rule broken.

Settings (/_sandbox/config): label_url_ttl_seconds, empty_page_every, fail_next_labels,
expire_next_label_urls, invoice_shape, label_format, location_sellers. Requests whose shipmentId or locationId
starts with TEST_CASE_ get Amazon's static sandbox answers from the model.

Modules: records (statuses, a shipment's moves), rules (package validation), labels (options,
labels, presigned links), engine (the operations), marketplace (what Amazon does unasked),
seed (seeded shipments), control (/_sandbox/ endpoints).
"""
