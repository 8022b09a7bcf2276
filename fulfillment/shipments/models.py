"""Shipments as the packing station knows them.

`Shipment`, `LineItem` mirror Amazon's getShipment answer (refreshed by sync); `Package`,
`PackageLineItem` are what the packer packed (ours until Amazon confirms them); `ShippingOption`
what Amazon offered for pickup; `ShipmentStep` every Amazon call a packer asked for, written
BEFORE it is queued so a double click or a lost worker never sends it twice; `ShipmentEvent`
the history shown on the shipment page.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


# Amazon's shipment statuses (guide 3.3; the model's enum plus CREATED/UNFULFILLABLE from the guide).
class Status(models.TextChoices):
    CREATED = "CREATED"
    ACCEPTED = "ACCEPTED"
    UNFULFILLABLE = "UNFULFILLABLE"
    CONFIRMED = "CONFIRMED"
    PACKAGE_CREATED = "PACKAGE_CREATED"
    PICKUP_SLOT_RETRIEVED = "PICKUP_SLOT_RETRIEVED"
    INVOICE_GENERATED = "INVOICE_GENERATED"
    SHIPLABEL_GENERATED = "SHIPLABEL_GENERATED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    # Seller-fulfilled (MFN) orders: Amazon's order statuses, and the store pickup step between.
    UNSHIPPED = "UNSHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"


class Channel(models.TextChoices):
    """Where a shipment comes from: a SmartConnect shipment, or a seller-fulfilled Amazon order
    (Orders API, labels bought through Merchant Fulfillment)."""

    SMARTCONNECT = "SMARTCONNECT", "SmartConnect"
    MFN = "MFN", "Seller-fulfilled"


class Programme(models.TextChoices):
    """Guide section 2: channelName + shippingType name the programme."""

    EASY_SHIP = "EASY_SHIP", "Easy Ship"
    SELF_SHIP = "SELF_SHIP", "Self-Ship"
    SELLER_FLEX = "SELLER_FLEX", "Seller Flex"
    MFN = "MFN", "Seller-fulfilled"
    OTHER = "OTHER", "Other"


class Requirement(models.TextChoices):
    """Amazon's RequirementLevel; empty when Amazon did not say."""

    REQUIRED = "REQUIRED"
    DISALLOWED = "DISALLOWED"


class DimensionUnit(models.TextChoices):
    CM = "CM"
    M = "M"
    IN = "IN"


class WeightUnit(models.TextChoices):
    G = "G"
    KG = "KG"
    LB = "LB"
    OZ = "OZ"


# What the board's partial indexes call finished: supervision.selectors.FINISHED_STATUSES, as literals
# here (the model cannot import the workflow) so PostgreSQL can match the board's predicates to them.
_FINISHED = ["SHIPPED", "DELIVERED", "CANCELLED", "UNFULFILLABLE"]


class Shipment(models.Model):
    class Priority(models.TextChoices):
        HIGH = "HIGH"
        LOW = "LOW"

    class ShipmentType(models.TextChoices):
        NEW = "NEW"
        EXCHANGE = "EXCHANGE"
        REPLACEMENT = "REPLACEMENT"

    # An MFN order is stored as a shipment whose amazon_id is its AmazonOrderId.
    amazon_id = models.CharField("Amazon shipment id", max_length=64, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SMARTCONNECT, db_index=True)
    is_store_pickup = models.BooleanField(default=False, help_text="MFN: the buyer collects it at the store.")
    seller_account = models.CharField(max_length=80, blank=True)
    location_id = models.CharField(max_length=64, db_index=True)
    marketplace_id = models.CharField(max_length=32)
    channel_name = models.CharField(max_length=32)
    shipping_type = models.CharField(max_length=32, blank=True)
    programme = models.CharField(max_length=16, choices=Programme.choices, default=Programme.OTHER)
    status = models.CharField(max_length=32, choices=Status.choices, db_index=True)
    sub_status = models.CharField(max_length=64, blank=True)
    status_reason = models.CharField(max_length=255, blank=True)
    priority = models.CharField(max_length=32, blank=True)
    buyer_order_id = models.CharField(max_length=64, db_index=True)
    shipment_type = models.CharField(max_length=32, choices=ShipmentType.choices, default=ShipmentType.NEW)
    # Amazon's expectedShippingDateTimeInUTC: the queue is ordered by it.
    ship_by = models.DateTimeField(null=True, blank=True, db_index=True)
    recommended_ship_method = models.CharField(max_length=64, blank=True)
    amazon_created_at = models.DateTimeField(null=True, blank=True)
    amazon_last_updated = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    invoice_requirement = models.CharField(max_length=32, blank=True)  # REQUIRED / NOT_REQUIRED
    invoice_status = models.CharField(max_length=32, blank=True)
    pslip_requirement = models.CharField("packing slip requirement", max_length=32, blank=True)
    pslip_status = models.CharField("packing slip status", max_length=32, blank=True)

    # Amazon's first recommended package: prefills the package form.
    recommended_length = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    recommended_width = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    recommended_height = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    recommended_dimension_unit = models.CharField(max_length=16, blank=True)
    recommended_weight = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    recommended_weight_unit = models.CharField(max_length=16, blank=True)

    # Cached from the line items so the queue needs no join.
    units_count = models.PositiveIntegerField(default=0)
    requires_serials = models.BooleanField(default=False)
    has_hazmat = models.BooleanField(default=False)
    gift_wrap = models.BooleanField(default=False)
    multi_piece = models.BooleanField(default=False)

    class CancellationType(models.TextChoices):
        SELLER_REJECTED = "SELLER_REJECTED", "Rejected by the seller"
        MARKETPLACE_CANCELLED = "MARKETPLACE_CANCELLED", "Cancelled by the marketplace"
        SYSTEM_CANCELLED = "SYSTEM_CANCELLED", "Cancelled by Amazon's system"

    cancellation_type = models.CharField(max_length=32, blank=True, choices=CancellationType.choices)
    cancellation_reason = models.CharField(max_length=255, blank=True)

    selected_shipping_option = models.ForeignKey(
        "ShippingOption", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tracking_ids = models.JSONField(default=list, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True, help_text="Every unit scanned at the station.")
    scan_skipped_at = models.DateTimeField(null=True, blank=True,
                                           help_text="The packer chose to pack without scanning every unit.")
    raw = models.JSONField("Amazon's shipment JSON", default=dict, blank=True)
    # Set when a step's success moved `status` here without asking Amazon (the step registry says
    # where); cleared once Amazon's own view agrees, or wins. The sync does not store a view Amazon
    # gave before this moment (plus a grace period): it predates our write.
    local_status_at = models.DateTimeField(null=True, blank=True)
    # Amazon's status contradicted the one a step had moved the shipment to: Amazon's won, ours is kept here.
    disagreed_at = models.DateTimeField(null=True, blank=True)
    disagreed_status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ship_by", "priority", "id"]
        indexes = [
            models.Index(fields=["location_id", "status", "ship_by"], name="shipment_queue_idx"),
            # Supervisor's board (bench/bench_pages.py). Open shipments are a few hundred among the whole
            # history: overdue / at-risk / stuck read them through this partial index. The predicate is
            # exactly the board's `exclude(status__in=FINISHED_STATUSES)`, so PostgreSQL can match it.
            models.Index(fields=["ship_by", "id"], name="shipment_open_idx",
                         condition=~Q(status__in=_FINISHED)),
            # Counts by location, programme and status (and the total) from the index alone.
            models.Index(fields=["location_id", "programme", "status"], include=["id"], name="shipment_board_idx"),
            # "Cancelled after we confirmed", newest first.
            models.Index(fields=["-amazon_last_updated", "id"], name="shipment_cancelled_idx",
                         condition=Q(status="CANCELLED")),
            # The board's status table: shipments finished in the last SUPERVISION_FINISHED_DAYS, from
            # the index alone.
            models.Index(fields=["amazon_last_updated"], include=["location_id", "programme", "status", "id"],
                         name="shipment_finished_idx",
                         condition=Q(status__in=_FINISHED)),
            # The board's "Shipments matching" list for one location, after its open ones: the latest
            # finished first (ship_by DESC NULLS LAST, id, as the list orders them), read a page at a
            # time instead of sorting the location's whole history.
            models.Index(F("location_id"), F("ship_by").desc(nulls_last=True), F("id"),
                         name="shipment_finished_loc_idx",
                         condition=Q(status__in=_FINISHED)),
            # The same list without a location (a status or programme filter over every location): the
            # latest finished first, a page at a time.
            models.Index(F("ship_by").desc(nulls_last=True), F("id"), name="shipment_finished_all_idx",
                         condition=Q(status__in=_FINISHED)),
        ]

    def __str__(self):
        return f"{self.amazon_id} ({self.status})"

    @property
    def is_india(self) -> bool:
        return self.marketplace_id == "A21TJRUUN4KGV"

    @property
    def is_closed(self) -> bool:
        return self.status in {Status.SHIPPED, Status.DELIVERED, Status.CANCELLED}


class LineItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="line_items")
    line_item_id = models.CharField("shipmentLineItemId", max_length=64)
    merchant_sku = models.CharField(max_length=128, db_index=True)
    number_of_units = models.PositiveIntegerField()
    piece_type = models.CharField(max_length=32, blank=True)  # SINGLE / MULTIPLE
    serial_number_requirement = models.CharField(max_length=32, blank=True)
    hazmat_labels_requirement = models.CharField(max_length=32, blank=True)
    country_of_origin_requirement = models.CharField(max_length=32, blank=True)
    item_value_requirement = models.CharField(max_length=32, blank=True)
    hazmat_labels = models.JSONField(default=list, blank=True, help_text="Labels Amazon says must go on the package.")
    recommended_country_of_origin = models.CharField(max_length=2, blank=True)
    recommended_currency_code = models.CharField(max_length=3, blank=True)
    hsn_code = models.CharField(max_length=64, blank=True)
    gift_wrap_requirement = models.CharField(max_length=32, blank=True)
    gift_wrap_label = models.CharField(max_length=255, blank=True)
    gift_message = models.TextField(blank=True)
    cancelled_quantity = models.PositiveIntegerField(default=0)
    # Scan-to-verify: units of this line the packer has scanned.
    scanned_units = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["shipment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "line_item_id"], name="lineitem_unique_per_shipment"),
        ]

    def __str__(self):
        return f"{self.merchant_sku} × {self.number_of_units}"

    @property
    def serials_required(self) -> bool:
        return self.serial_number_requirement == Requirement.REQUIRED

    @property
    def needs_gift_wrap(self) -> bool:
        return self.gift_wrap_requirement == Requirement.REQUIRED

    @property
    def fully_scanned(self) -> bool:
        return self.scanned_units >= self.number_of_units


class ShippingOption(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="shipping_options")
    package = models.ForeignKey("Package", null=True, blank=True, on_delete=models.CASCADE, related_name="shipping_options")
    option_id = models.CharField("shippingOptionId", max_length=255)
    ship_by = models.CharField(max_length=32, blank=True)  # MARKETPLACE / SELLER / THIRD_PARTY_CARRIER / OTHER
    carrier_name = models.CharField(max_length=128, blank=True)
    ship_method = models.CharField(max_length=128, blank=True)
    pickup_start = models.DateTimeField(null=True, blank=True)
    pickup_end = models.DateTimeField(null=True, blank=True)
    time_slot_start = models.DateTimeField(null=True, blank=True)
    time_slot_end = models.DateTimeField(null=True, blank=True)
    handover_method = models.CharField(max_length=32, blank=True)  # PICKUP / DROPOFF
    handover_address = models.JSONField(default=dict, blank=True)
    is_recommended = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True)
    retrieved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_recommended", "pickup_start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["package", "option_id"], name="shippingoption_unique_per_package"),
        ]

    def __str__(self):
        return f"{self.carrier_name or self.ship_by} {self.option_id}"


class Package(models.Model):
    class State(models.TextChoices):
        DRAFT = "DRAFT", "Saved here, not sent"
        SENT = "SENT", "Sent, waiting for Amazon"
        CONFIRMED = "CONFIRMED", "Confirmed by Amazon"

    class Handling(models.TextChoices):
        NORMAL = "NORMAL"
        FRAGILE = "FRAGILE"

    class LabelStatus(models.TextChoices):
        NONE = "NONE", "No label yet"
        GENERATED = "GENERATED", "Generated, not downloaded"
        READY = "READY", "Label stored"
        FAILED = "FAILED", "Label failed"
        # createShipment's answer was lost: bought or not, a supervisor settles it (services.mfn.recovery).
        UNKNOWN = "UNKNOWN", "Bought? A supervisor checks"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="packages")
    # Generated and saved by us BEFORE createPackages (seed 001): Amazon cannot tell it back to us.
    package_id = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=1)
    length = models.DecimalField(max_digits=10, decimal_places=2)
    width = models.DecimalField(max_digits=10, decimal_places=2)
    height = models.DecimalField(max_digits=10, decimal_places=2)
    dimension_unit = models.CharField(max_length=2, choices=DimensionUnit.choices, default=DimensionUnit.CM)
    weight = models.DecimalField(max_digits=12, decimal_places=3)
    weight_unit = models.CharField(max_length=2, choices=WeightUnit.choices, default=WeightUnit.G)
    hazmat_labels = models.JSONField(default=list, blank=True)
    handling = models.CharField(max_length=8, choices=Handling.choices, default=Handling.NORMAL)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    # True once Amazon has this package id: later changes go through updatePackage.
    known_to_amazon = models.BooleanField(default=False)
    amazon_status = models.CharField(max_length=32, blank=True)
    label_status = models.CharField(max_length=10, choices=LabelStatus.choices, default=LabelStatus.NONE)
    label_error = models.TextField(blank=True)
    carrier_name = models.CharField(max_length=128, blank=True)
    tracking_id = models.CharField(max_length=128, blank=True)
    label_printed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    # MFN: the packageReferenceId, stored BEFORE confirmShipment is sent (Amazon never says it back;
    # a correction repeats it), the label bought for the package (Merchant Fulfillment's ShipmentId),
    # its service and cost, and when that label was voided.
    reference_id = models.CharField(max_length=16, blank=True)
    label_shipment_id = models.CharField(max_length=64, blank=True)
    service_id = models.CharField(max_length=128, blank=True)
    service_name = models.CharField(max_length=128, blank=True)
    label_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    label_currency = models.CharField(max_length=3, blank=True)
    label_voided_at = models.DateTimeField(null=True, blank=True)
    # What Amazon last accepted for this package: an edit that matches it needs no updatePackage.
    sent_payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shipment", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "package_id"], name="package_id_unique_per_shipment"),
            # MFN: a packageReferenceId names one package of the order, for good.
            models.UniqueConstraint(fields=["shipment", "reference_id"], condition=~Q(reference_id=""),
                                    name="package_reference_unique_per_order"),
        ]

    def __str__(self):
        return self.package_id

    @property
    def is_shipped(self) -> bool:
        return self.shipped_at is not None


class PackageLineItem(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="items")
    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="package_items")
    quantity = models.PositiveIntegerField()
    pieces = models.PositiveIntegerField(null=True, blank=True, help_text="Only for multi-piece items.")
    serial_numbers = models.JSONField(default=list, blank=True)
    country_of_origin = models.CharField(max_length=2, blank=True)
    item_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    item_value_currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["package", "id"]
        constraints = [
            models.UniqueConstraint(fields=["package", "line_item"], name="packageitem_unique_line"),
        ]

    def __str__(self):
        return f"{self.line_item.merchant_sku} × {self.quantity} in {self.package.package_id}"


class SerialNumber(models.Model):
    """Registry of serial numbers put in packages: a unit's serial ships once, across every
    shipment. Released (kept, not unique any more) when its shipment is cancelled."""

    serial = models.CharField(max_length=128)
    package_line_item = models.ForeignKey(PackageLineItem, on_delete=models.CASCADE, related_name="serial_rows")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="serial_rows")
    released = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["serial"], condition=Q(released=False), name="serial_used_once"),
        ]

    def __str__(self):
        return self.serial


class ShipmentEvent(models.Model):
    class Kind(models.TextChoices):
        SYNCED = "SYNCED", "Updated from Amazon"
        STATUS_CHANGED = "STATUS_CHANGED", "Status changed"
        CANCELLED = "CANCELLED", "Cancelled"
        STEP_REQUESTED = "STEP_REQUESTED", "Step requested"
        STEP_SUCCEEDED = "STEP_SUCCEEDED", "Step done"
        STEP_FAILED = "STEP_FAILED", "Step failed"
        PACKAGES_SAVED = "PACKAGES_SAVED", "Packages saved"
        OPTION_CHOSEN = "OPTION_CHOSEN", "Shipping option chosen"
        DOCUMENT_STORED = "DOCUMENT_STORED", "Document stored"
        LABEL_PRINTED = "LABEL_PRINTED", "Label printed"
        PRINT_FAILED = "PRINT_FAILED", "Printing failed"
        SCANNED = "SCANNED", "Item scanned"
        SCAN_REFUSED = "SCAN_REFUSED", "Scan refused"
        CLAIM = "CLAIM", "Claimed"
        RELEASE = "RELEASE", "Released"
        NOTE = "NOTE", "Note"
        AMAZON_DISAGREES = "AMAZON_DISAGREES", "Amazon disagrees"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shipment", "created_at"], name="shipmentevent_history_idx")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.message}"


class ShipmentStep(models.Model):
    """An Amazon step a packer asked for. Written before it is queued; at most one open
    (PENDING/RUNNING) step per shipment and kind, so a double click cannot send a call twice."""

    class Kind(models.TextChoices):
        """The values stored; what each kind is and does (label included) is `step_kinds.STEP_KINDS`."""

        CONFIRM = "CONFIRM"
        REJECT = "REJECT"
        CREATE_PACKAGES = "CREATE_PACKAGES"
        UPDATE_PACKAGE = "UPDATE_PACKAGE"
        SHIPPING_OPTIONS = "SHIPPING_OPTIONS"
        INVOICE = "INVOICE"
        LABELS = "LABELS"
        FETCH_LABELS = "FETCH_LABELS"
        SHIP = "SHIP"
        REFRESH = "REFRESH"
        MFN_SERVICES = "MFN_SERVICES"
        MFN_BUY_LABEL = "MFN_BUY_LABEL"
        MFN_FETCH_LABEL = "MFN_FETCH_LABEL"
        MFN_CONFIRM = "MFN_CONFIRM"
        MFN_CORRECT = "MFN_CORRECT"
        MFN_VOID_LABEL = "MFN_VOID_LABEL"
        MFN_ADOPT_LABEL = "MFN_ADOPT_LABEL"
        MFN_READY_FOR_PICKUP = "MFN_READY"
        MFN_PICKED_UP = "MFN_PICKED_UP"
        MFN_REFUSED = "MFN_REFUSED"

    class State(models.TextChoices):
        PENDING = "PENDING", "Waiting"
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Done"
        FAILED = "FAILED", "Failed"

    OPEN_STATES = (State.PENDING, State.RUNNING)

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    payload = models.JSONField(default=dict, blank=True, help_text="What the packer asked for, kept on failure.")
    result = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True, help_text="For the packer: what happened and what to do.")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # The last sign of life: queued (PENDING) or its runner's heartbeat (RUNNING). The reconciler
    # hands on a step whose sign of life is older than its lease and that no live process holds.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "kind"],
                condition=Q(status__in=["PENDING", "RUNNING"]),
                name="one_open_step_per_shipment_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["shipment", "created_at"], name="shipmentstep_history_idx"),
            # Board throughput (shipped per hour / per packer) over a time window.
            models.Index(fields=["finished_at"], name="shipmentstep_shipped_idx",
                         condition=Q(kind="SHIP", status="SUCCEEDED")),
            # Board: was this (cancelled) shipment ever confirmed?
            models.Index(fields=["shipment"], name="shipmentstep_confirmed_idx",
                         condition=Q(kind="CONFIRM", status="SUCCEEDED")),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.shipment.amazon_id}: {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATES

    @property
    def chain(self) -> str:
        """The chain the step belongs to (services.chain: "pack_and_label"), "" for a step on its own."""
        return (self.payload or {}).get("chain") or ""


class SyncCursor(models.Model):
    """Where the sync of one seller account's shipments in one status stands: getShipments is asked
    per account and status (not per location), for what changed since `last_synced_at`."""

    seller_account = models.CharField(max_length=80)
    status = models.CharField(max_length=32)
    last_synced_at = models.DateTimeField(null=True, blank=True, help_text="Start of the last complete read.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["seller_account", "status"], name="synccursor_unique")]

    def __str__(self):
        return f"{self.seller_account} {self.status} synced {self.last_synced_at}"


class UnreadableShipment(models.Model):
    """A shipment Amazon listed that breaks its model (or our columns): kept out of our tables and
    shown on the board until Amazon sends it readable. `problems` name fields and what is wrong with
    them, never their values (a shipment carries the buyer's address)."""

    seller_account = models.CharField(max_length=80)
    shipment_id = models.CharField(max_length=64, blank=True)
    location_id = models.CharField(max_length=64, blank=True)
    problems = models.JSONField(default=list)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    times_seen = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["seller_account", "shipment_id"], name="unreadable_unique")]

    def __str__(self):
        return f"{self.shipment_id or '(no id)'}: {len(self.problems)} problem(s)"
