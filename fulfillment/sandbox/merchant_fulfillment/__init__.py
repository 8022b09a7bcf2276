"""Merchant Fulfillment: Amazon's label purchase API v0, as the sandbox plays it.

Paths, bodies and answers as fulfillment/amazon/contract/merchantFulfillmentV0.json has them.
Operations (sandbox name, usage plan from the model: requests/s, burst):
    getEligibleShipmentServices         POST   /mfn/v0/eligibleShippingServices  6, 12
    createShipment                      POST   /mfn/v0/shipments                 2, 2
    merchantFulfillmentV0.getShipment   GET    /mfn/v0/shipments/{shipmentId}    1, 1
    cancelShipment                      DELETE /mfn/v0/shipments/{shipmentId}    1, 1
(getAdditionalSellerInputs is not served: no service needs additional inputs.)

A request's ShipmentRequestDetails must fit its order (else 400 with errors[]; unknown order 404):
  the order is Unshipped or PartiallyShipped and not store pickup; ItemList names items of the
  order, once each, quantity 1..units not yet confirmed shipped; Weight > 0; PackageDimensions
  has Length/Width/Height > 0 and Unit, or PredefinedPackageDimensions; ShipFromAddress is in
  the order's country; ShipDate not in the past; items whose order line says
  ShippingConstraints.SignatureConfirmation MANDATORY need DeliveryConfirmationWithSignature
  (or WithAdultSignature).

getEligibleShipmentServices: the marketplace's services (services.SERVICES: US USPS/UPS/FedEx,
  IN Amazon Shipping/Delhivery/Blue Dart, DE DHL/DPD/Hermes/UPS, AE Aramex/Emirates Post),
  cheapest first, each with Rate (actual or volumetric weight, signature, pickup, insurance
  above 100 USD worth), ShipDate (some carriers collect only the next day),
  Earliest/LatestEstimatedDeliveryDate, AvailableLabelFormats, surcharges, and Benefits:
  CLAIMS_PROTECTED, or excluded with LATE_SHIP_DATE / LATE_DELIVERY_RISK when it ships after
  the order's LatestShipDate or may arrive after its LatestDeliveryDate. Services that cannot
  take the package are in RejectedShippingServiceList (WEIGHT_LIMIT_EXCEEDED,
  PICKUP_NOT_AVAILABLE, DELIVERY_EXPERIENCE_NOT_AVAILABLE, PACKAGE_TYPE_NOT_SUPPORTED);
  services arriving after MustArriveByDate are left out; carriers named in the setting
  mfn_unavailable_carriers are in TemporarilyUnavailableCarrierList.

createShipment buys a label: ShippingServiceId must be one offered for these details (400
  otherwise); ShippingServiceOfferId, if sent, must be the one offered for the same details and
  ship day; ShippingServiceOptions.LabelFormat must be one of the service's
  AvailableLabelFormats (ShippingServiceDefault or none: the service's first). The Shipment has a
  ShipmentId (UUID), TrackingId, the buyer's full ShipToAddress, Status Purchased and
  Label.FileContents: Contents = base64 of the gzip'd file (PDF, PNG, or ZPL at 203 / 300 dpi),
  FileType, Checksum = base64 MD5 of the file (uncompressed). Buying a label does not confirm
  the shipment: confirm each package with the Orders API's confirmShipment (setting
  mfn_label_confirms_shipment=true makes the purchase confirm its items as a package instead).

getShipment: the shipment (400 for a shipmentId that is not a UUID, 404 unknown).
cancelShipment: Purchased -> RefundPending (200); after mfn_refund_after_seconds (default 60) it
  reads RefundApplied, or RefundRejected when the carrier had accepted the package (control
  carrier-scan). Cancelling again: 400. The order's status does not change.

Settings: mfn_refund_after_seconds, mfn_label_confirms_shipment, mfn_unavailable_carriers.
Control (/_sandbox/mfn/shipments...): see merchant_fulfillment.control.
"""
