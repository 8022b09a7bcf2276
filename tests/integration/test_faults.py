"""Fifty shipments packed at once while Amazon (the sandbox over HTTP) throttles, fails, times out
and drags, and while Celery workers are SIGKILLed in the middle of createPackages and of
generateShipLabels. A real prefork worker with the Redis broker runs every step on the real
PostgreSQL database; the test plays the packers through the services the station UI calls and,
every few seconds, the reconciler that beat runs in production.

Proved: every shipment ends SHIPPED at Amazon and here, with exactly the package ids we stored,
createPackages accepted once, one label per package ever made (never regenerated) and stored here,
each package marked shipped once; label links that expired before the fetch are renewed and
fetched; steps of a killed worker are taken over and recovered by re-reading Amazon, while steps
that outlive their lease on a live worker are never run twice beside themselves.
"""

import time
from collections import Counter
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from fulfillment.amazon import contract_schema
from fulfillment.amazon.models import AmazonCall
from fulfillment.celery import app
from fulfillment.documents.models import Document
from fulfillment.sandbox.seed import MARKETPLACE_BY_ID
from fulfillment.shipments import selectors, services, workflow
from fulfillment.shipments.models import Package, Shipment, ShipmentStep
from fulfillment.shipments.tasks import run_step_task
from fulfillment.shipments.workflow import PackageInput, PackageItemInput, StepNotAllowed

from .conftest import LEASE_SECONDS

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(420)]
Kind, State = ShipmentStep.Kind, ShipmentStep.State
SKU = "MILTON-THERMO-1000-SS"
SHIPMENTS = 50
INDIA, US = "A21TJRUUN4KGV", "ATVPDKIKX0DER"
# (programme, marketplace): with and without Amazon's invoice, with options, Seller Flex's fixed slot.
SHAPES = [("EASY_SHIP", INDIA), ("EASY_SHIP", US), ("SELF_SHIP", INDIA), ("SELLER_FLEX", INDIA)]
RECONCILE_EVERY_SECONDS = 3  # beat's reconcile-steps, sped up
SLOW_WRITE_MS = 1500  # latency on the write a worker is killed in
EXPIRED_LABEL_LINKS = 5
DEADLINE_SECONDS = 200


def base_faults(amazon, *, slow=None):
    """Amazon on a bad day: latency, 5xx before acting (20%), 5xx after acting (the answer is
    lost), and timeouts after acting. `slow`: an operation that only drags (SLOW_WRITE_MS), so a
    worker killed inside it is killed while Amazon does the write."""
    every = sorted(contract_schema.operations())
    others = [op for op in every if op != slow]
    amazon.faults(latency_ms=15)
    amazon.faults(operations=others, error_rate=0.2, error_status=503)
    amazon.faults(operations=others, error_rate=0.05, error_status=500, apply=True)
    amazon.faults(operations=others, timeout_rate=0.03, timeout_seconds=3)
    if slow:
        amazon.faults(operations=[slow], latency_ms=SLOW_WRITE_MS)


def boxes(shipment, count):
    """`count` packages, the shipment's units spread over them."""
    line = shipment.line_items.get()
    split = [line.number_of_units // count + (1 if n < line.number_of_units % count else 0) for n in range(count)]
    coo = (line.recommended_country_of_origin or "IN") if line.country_of_origin_requirement == "REQUIRED" else ""
    value = 899 if line.item_value_requirement == "REQUIRED" else None
    currency = (line.recommended_currency_code or "INR") if value else ""
    return [PackageInput(length=30, width=12, height=12, weight=600,
                         items=[PackageItemInput(line.line_item_id, units, [], coo, value, currency)])
            for units in split]


class Packers:
    """Whatever `next_action` asks for, done through the services the station screens call. A step
    that failed is asked for again, as a packer reading its message would."""

    def __init__(self, user, packages_per_shipment):
        self.user = user
        self.packages_per_shipment = packages_per_shipment
        self.refused = Counter()

    def advance(self, shipment: Shipment) -> bool:
        """One move on the shipment; False once it is shipped."""
        shipment.refresh_from_db()
        if shipment.status == "SHIPPED":
            return False
        if selectors.open_steps(shipment).exists():
            return True  # the worker has it
        action = workflow.next_action(shipment)
        assert action is not None, f"{shipment.amazon_id} stopped at {shipment.status}"
        try:
            if action.kind == workflow.VERIFY:
                for line in shipment.line_items.all():
                    for _unit in range(line.number_of_units - line.scanned_units):
                        assert services.verify_scan(shipment, line.merchant_sku, self.user).ok
            elif action.kind == workflow.PACK:
                services.submit_packages(shipment, boxes(shipment, self.packages_per_shipment[shipment.amazon_id]),
                                         self.user)
            elif action.kind == workflow.CHOOSE_OPTION:
                services.choose_shipping_option(shipment, shipment.shipping_options.first(), self.user)
            elif action.kind == workflow.PRINT_LABELS:
                for document in selectors.current_documents(shipment, Document.Kind.LABEL):
                    services.record_label_printed(document, self.user)
            else:
                courier = {"carrier_name": "DTDC", "tracking_id": f"D-{shipment.amazon_id}"}
                payload = courier if action.kind == Kind.LABELS and workflow.needs_courier_details(shipment) else None
                services.request_step(shipment, action.kind, self.user, payload)
        except StepNotAllowed as exc:  # a race with the worker's answer; the next look decides again
            self.refused[exc.packer_message] += 1
        return True


class Run:
    """The fifty shipments in flight, moved on in rounds, with the reconciler every few seconds."""

    def __init__(self, shipments, packers):
        self.shipments = shipments
        self.packers = packers
        self.started = time.monotonic()
        self.last_reconcile = 0.0
        self.requeued: set[int] = set()

    def round(self) -> int:
        busy = sum(self.packers.advance(s) for s in self.shipments)
        if time.monotonic() - self.last_reconcile > RECONCILE_EVERY_SECONDS:
            self.requeued.update(services.reconcile_steps())
            self.last_reconcile = time.monotonic()
        return busy

    def stuck(self) -> str:
        """Where each unfinished shipment stands, for a failure message."""
        lines = []
        for shipment in Shipment.objects.filter(pk__in=[s.pk for s in self.shipments]).exclude(status="SHIPPED"):
            step = selectors.latest_step(shipment)
            action = workflow.next_action(shipment)
            lines.append(f"{shipment.amazon_id} {shipment.status} next={action and action.kind} last step="
                         f"{step and (step.pk, step.kind, step.status, step.attempts, step.started_at, step.error_message)} "
                         f"packages={list(shipment.packages.values_list('state', 'label_status'))}")
        return "\n".join(lines) + f"\nrefused: {dict(self.packers.refused)}"

    def until(self, condition, what: str, workers, worker):
        while not condition():
            assert time.monotonic() - self.started < DEADLINE_SECONDS, f"still waiting for {what}:\n{self.stuck()}"
            assert worker.poll() is None, f"worker died:\n{workers.log(worker)}"
            self.round()
            time.sleep(0.1)


def running_inside(kind):
    """Steps of `kind` a worker has been on for a while: with SLOW_WRITE_MS on their write, inside it."""
    return list(ShipmentStep.objects.filter(kind=kind, status=State.RUNNING,
                                            started_at__lt=timezone.now() - timedelta(seconds=0.4)))


# A write a recovered orphan must not have sent again. (A recovered labels step does call
# generateShipLabels GENERATE once more, to fetch the labels Amazon made: the test's end checks that
# Amazon never made a second set.)
EXACTLY_ONCE = {Kind.CREATE_PACKAGES: "createPackages"}


def kill_and_replace(amazon, workers, worker, run, kind):
    """SIGKILL the worker while >= 2 steps of `kind` are running (most of them inside their slow
    write) and start a new one. After the lease the reconciler must hand the orphaned steps to it.
    Each must end SUCCEEDED with Amazon having accepted its write once: an orphan whose write
    reached Amazon is recovered by re-reading (never sent again); one that was still waiting (for a
    rate-limit token, or between runs after a 429) sends it now. Amazon has no random faults
    meanwhile, so that outcome is certain."""
    run.until(lambda: len(running_inside(kind)) >= 2, f"two {kind} steps inside their call", workers, worker)
    workers.kill(worker)
    amazon.clear_faults()
    orphans = {s.pk for s in ShipmentStep.objects.filter(kind=kind, status=State.RUNNING)}
    assert len(orphans) >= 2
    new = workers.start()
    time.sleep(LEASE_SECONDS + 0.5)
    requeued = set(services.reconcile_steps())
    run.requeued.update(requeued)
    # An orphan may already be back in work: a duplicate message of it (queued by an earlier
    # reconcile while it was PENDING) reached the new worker. Every other one must be requeued.
    untouched = set(ShipmentStep.objects.filter(pk__in=orphans, attempts=1).values_list("pk", flat=True))
    assert untouched <= requeued, "a dead worker's step still looks held"
    run.until(lambda: not ShipmentStep.objects.filter(pk__in=orphans, status__in=ShipmentStep.OPEN_STATES).exists(),
              f"the orphaned {kind} steps to finish", workers, new)
    recovered = 0
    for step in ShipmentStep.objects.filter(pk__in=orphans).select_related("shipment"):
        assert (step.status, step.attempts) == (State.SUCCEEDED, 2), (step.kind, step.status, step.error_message)
        if kind in EXACTLY_ONCE:
            accepted = [c for c in amazon.calls(EXACTLY_ONCE[kind], step.shipment.amazon_id) if c["status"] < 300]
            assert len(accepted) == 1, (step.kind, step.result, accepted)
        recovered += step.result == {"recovered": True}
    assert recovered, "no orphan was killed inside its write: the recovery by re-reading went untested"
    return new, orphans


def test_fifty_shipments_ship_exactly_once_through_faults_and_killed_workers(amazon, workers, packer):
    amazon.configure(rate_limits={"default": {"rate": 100, "burst": 100}})
    shipments, per_shipment = [], {}
    for n in range(SHIPMENTS):
        programme, marketplace = SHAPES[n % len(SHAPES)]
        units = 2 if n % 5 == 0 else 1
        created = amazon.create_shipment(programme=programme.lower(), marketplace=MARKETPLACE_BY_ID[marketplace].code,
                                         skus=[SKU], units=units)
        shipments.append(services.refresh_shipment(created["id"]))  # as the location sync would
        per_shipment[created["id"]] = units  # two-unit shipments go in two boxes
    packers = Packers(packer, per_shipment)
    run = Run(shipments, packers)

    # 1. Confirm and pack under a 429 storm and Amazon's bad day; kill the worker inside createPackages.
    worker = workers.start()
    base_faults(amazon, slow="createPackages")
    amazon.faults(throttle_seconds=2)
    worker, packages_orphans = kill_and_replace(amazon, workers, worker, run, Kind.CREATE_PACKAGES)

    # 2. Options, invoice and labels; kill the worker inside generateShipLabels.
    base_faults(amazon, slow="generateShipLabels")
    worker, labels_orphans = kill_and_replace(amazon, workers, worker, run, Kind.LABELS)

    # 3. The rest, with label links that expired before the fetch and one more 429 storm.
    base_faults(amazon)
    amazon.faults(throttle_seconds=2)
    amazon.configure(expire_next_label_urls=EXPIRED_LABEL_LINKS)
    run.until(lambda: not any(s.status != "SHIPPED" for s in Shipment.objects.filter(pk__in=[s.pk for s in shipments])),
              "every shipment shipped", workers, worker)
    elapsed = time.monotonic() - run.started
    amazon.clear_faults()

    # Nothing left open, nothing failed for an internal reason.
    steps = ShipmentStep.objects.filter(shipment__in=shipments)
    assert not steps.filter(status__in=ShipmentStep.OPEN_STATES).exists()
    assert not steps.filter(error_code="INTERNAL").exists()

    fetch_expired = [c for c in AmazonCall.objects.filter(operation="fetchLabel", http_status=403)]
    assert 1 <= len(fetch_expired) <= EXPIRED_LABEL_LINKS
    expired_label_ids = {urlparse(c.path).path.rsplit("/", 1)[-1] for c in fetch_expired}

    renewed = 0
    for shipment in shipments:
        shipment.refresh_from_db()
        at_amazon = amazon.state(shipment.amazon_id)
        doc = at_amazon["shipment"]
        ours = sorted(shipment.packages.values_list("package_id", flat=True))
        assert shipment.status == doc["status"] == "SHIPPED", shipment.amazon_id
        # No lost package id: Amazon holds exactly the ids we stored before sending them.
        assert sorted(p["id"] for p in doc["packages"]) == ours
        assert len(ours) == per_shipment[shipment.amazon_id]
        history = Counter(entry["by"] for entry in at_amazon["history"])
        assert history["createPackages"] == 1, at_amazon["history"]  # accepted once
        assert history["processShipment CONFIRM"] == 1
        shipped = [e for e in at_amazon["history"] if e["by"] == "updatePackageStatus SHIPPED"]
        assert len(shipped) == len(ours)  # each package marked shipped once
        # One label per package ever made at Amazon (never regenerated), and that one stored here.
        assert sorted(at_amazon["labels"]) == ours and at_amazon["served_labels"] == []
        for package in shipment.packages.all():
            label = Document.objects.get(package=package, kind=Document.Kind.LABEL, superseded=False)
            assert package.label_status == Package.LabelStatus.READY and package.is_shipped
            assert len(bytes(label.content)) > 0
            assert label.tracking_id == at_amazon["labels"][package.package_id]["shipLabelMetadata"]["trackingId"]
            if at_amazon["labels"][package.package_id]["labelId"] in expired_label_ids:
                renewed += 1
        succeeded = Counter(steps.filter(shipment=shipment, status=State.SUCCEEDED).values_list("kind", flat=True))
        assert succeeded[Kind.CREATE_PACKAGES] == succeeded[Kind.CONFIRM] == succeeded[Kind.SHIP] == 1
    assert renewed == len(expired_label_ids)  # every link that expired was renewed and its label stored

    calls = Counter((c["operation"], c["status"]) for c in amazon.calls())
    failed_steps = Counter(steps.filter(status=State.FAILED).values_list("error_code", flat=True))
    print(f"\n{SHIPMENTS} shipments shipped in {elapsed:.0f}s; orphans recovered: {len(packages_orphans)} "
          f"createPackages, {len(labels_orphans)} labels; reconciler requeued {len(run.requeued)} steps; "
          f"expired label links renewed: {renewed}; steps the packers asked for again: {sum(failed_steps.values())} "
          f"{dict(failed_steps)}; refused clicks: {sum(packers.refused.values())}; "
          f"429s: {sum(n for (op, status), n in calls.items() if status == 429)}, "
          f"5xx: {sum(n for (op, status), n in calls.items() if status >= 500)}")


def wait_for(condition, what, workers, worker, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert worker.poll() is None, f"worker died:\n{workers.log(worker)}"
        assert time.monotonic() < deadline, f"still waiting for {what}:\n{workers.log(worker)}"
        time.sleep(0.1)


def test_a_live_step_past_its_lease_is_not_sent_twice_and_a_lost_message_is_requeued(amazon, workers, packer,
                                                                                     settings, monkeypatch):
    slow, lost = (services.refresh_shipment(amazon.create_shipment(programme="easy_ship", marketplace="IN",
                                                                   skus=[SKU])["id"]) for _ in range(2))
    workers.env["AMAZON_TIMEOUT_SECONDS"] = "30"  # the slow confirm is slow, not timed out
    worker = workers.start(concurrency=2)
    amazon.faults(operations=["processShipment"], latency_ms=(LEASE_SECONDS + 2) * 1000, count=1)
    step = services.request_step(slow, Kind.CONFIRM, packer)

    def past_its_lease():
        step.refresh_from_db()
        return step.status == State.RUNNING and timezone.now() - step.started_at > timedelta(seconds=LEASE_SECONDS)

    wait_for(past_its_lease, "the confirm to outlive its lease", workers, worker)
    assert step.pk not in services.stalled_step_ids()  # its worker is alive: not the reconciler's
    step.refresh_from_db()
    assert step.heartbeat_at - step.started_at > timedelta(seconds=LEASE_SECONDS / 2)  # it beats while it runs
    run_step_task.delay(step.pk)  # a duplicate message anyway (a redelivery): the other child takes it
    wait_for(lambda: step.refresh_from_db() or step.status == State.SUCCEEDED, "the confirm", workers, worker)
    assert step.attempts == 1 and step.result == {"status": "CONFIRMED"}
    assert len(amazon.calls("processShipment", slow.amazon_id)) == 1

    # The broker is down when the packer clicks: the step is kept PENDING, the reconciler sends it.
    task = app.tasks[run_step_task.name]
    with monkeypatch.context() as broker_down:
        broker_down.setattr(task, "delay", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("broker down")))
        waiting = services.request_step(lost, Kind.CONFIRM, packer)
    settings.SHIPMENT_STEP_PENDING_GRACE_SECONDS = 1
    time.sleep(1.2)
    waiting.refresh_from_db()
    assert waiting.status == State.PENDING and waiting.attempts == 0
    assert waiting.pk in services.reconcile_steps()
    wait_for(lambda: waiting.refresh_from_db() or waiting.status == State.SUCCEEDED, "the requeued confirm",
             workers, worker)
    assert amazon.state(lost.amazon_id)["shipment"]["status"] == "CONFIRMED"


def test_self_ship_labels_whose_download_failed_are_fetched_again(amazon, workers, packer):
    """Regression: a Self-Ship label generated at Amazon but never stored (its link expired, and so
    did the renewed one) could never be fetched again: Amazon wants the courier details on that
    call too, and only the packer's Generate step had them. Steps run in this process here; the
    queued messages go to this test's own queue, which no worker reads."""
    shipment = services.refresh_shipment(amazon.create_shipment(programme="self_ship", marketplace="IN",
                                                                skus=[SKU])["id"])
    packers = Packers(packer, {shipment.amazon_id: 1})
    amazon.configure(expire_next_label_urls=2)
    for _ in range(20):
        if not packers.advance(shipment) or shipment.packages.filter(label_status=Package.LabelStatus.READY).exists():
            break
        for step in selectors.open_steps(shipment):
            services.run_step(step.pk)
    labels = ShipmentStep.objects.get(shipment=shipment, kind=Kind.LABELS)
    assert labels.status == State.FAILED and "expired" in labels.error_message
    fetches = list(ShipmentStep.objects.filter(shipment=shipment, kind=Kind.FETCH_LABELS))
    assert [(f.status, f.error_message) for f in fetches] == [(State.SUCCEEDED, "")]  # the first try works
    package = shipment.packages.get()
    assert package.label_status == Package.LabelStatus.READY and package.tracking_id == f"D-{shipment.amazon_id}"
    assert amazon.state(shipment.amazon_id)["served_labels"] == []  # the same label, never regenerated


def test_a_label_of_the_second_package_is_fetched_again_with_its_own_shipping_option(amazon, workers, packer):
    """Regression: shipping options are offered per package and the packer chooses one (the first
    package's). Getting the second package's label again alone (its link expired) sent the first
    package's option, which Amazon refuses for it (422), every time."""
    shipment = services.refresh_shipment(amazon.create_shipment(programme="easy_ship", marketplace="IN",
                                                                skus=[SKU], units=2)["id"])
    packers = Packers(packer, {shipment.amazon_id: 2})
    amazon.configure(expire_next_label_urls=2)  # both links of the first answer
    for _ in range(20):
        if not packers.advance(shipment) or workflow.next_action(shipment).kind == workflow.PRINT_LABELS:
            break
        for step in selectors.open_steps(shipment):
            services.run_step(step.pk)
    labels = ShipmentStep.objects.get(shipment=shipment, kind=Kind.LABELS)
    assert labels.status == State.SUCCEEDED, labels.error_message
    assert not ShipmentStep.objects.filter(shipment=shipment, kind=Kind.FETCH_LABELS).exists()
    assert set(shipment.packages.values_list("label_status", flat=True)) == {Package.LabelStatus.READY}
    assert len(AmazonCall.objects.filter(operation="fetchLabel", http_status=403)) == 2
    at_amazon = amazon.state(shipment.amazon_id)
    assert len(at_amazon["labels"]) == 2 and at_amazon["served_labels"] == []


def test_a_shipment_ships_while_amazon_cannot_be_read_at_all(amazon, workers, packer):
    """A clear success moves the shipment on by the step registry, not by a re-read: with every
    getShipment failing (503), a Seller Flex and an Easy Ship shipment still go from ACCEPTED to
    SHIPPED, no step fails, and no Refresh is ever needed. (It used to take a getShipment after every
    write, and a Refresh step whenever one failed.)"""
    shipments = [services.refresh_shipment(amazon.create_shipment(programme=programme, marketplace="IN",
                                                                  skus=[SKU])["id"])
                 for programme in ("seller_flex", "easy_ship")]
    packers = Packers(packer, {s.amazon_id: 1 for s in shipments})
    amazon.faults(operations=["getShipment"], error_rate=1.0, error_status=503)
    reads = len(amazon.calls("getShipment"))
    for _ in range(40):
        busy = [packers.advance(s) for s in shipments]  # every shipment moves on, not only the first busy one
        if not any(busy):
            break
        for shipment in shipments:
            for step in selectors.open_steps(shipment):
                assert services.run_step(step.pk).status == State.SUCCEEDED, step.kind
    assert [s.status for s in shipments] == ["SHIPPED", "SHIPPED"] and not packers.refused, packers.refused
    steps = ShipmentStep.objects.filter(shipment__in=shipments)
    assert not steps.filter(status=State.FAILED).exists() and not steps.filter(kind=Kind.REFRESH).exists()
    assert [amazon.state(s.amazon_id)["shipment"]["status"] for s in shipments] == ["SHIPPED", "SHIPPED"]
    assert len(amazon.calls("getShipment")) == reads  # not even tried


def test_a_killed_worker_costs_its_steps_under_a_minute_with_the_production_lease(amazon, workers, packer, settings):
    """With the default lease and reconciler cadence (as beat runs it), steps whose worker was
    SIGKILLed inside Amazon's createPackages are resumed by a new worker within 60 s of the kill,
    and Amazon accepts each createPackages once: the resumed run re-reads and finds it done."""
    from fulfillment import (
        settings as configured,  # what production runs (the fixture shortens the lease)
    )

    lease, cadence = configured.SHIPMENT_STEP_LEASE_SECONDS, configured.SHIPMENT_RECONCILE_SECONDS
    settings.SHIPMENT_STEP_LEASE_SECONDS = lease
    workers.env["SHIPMENT_STEP_LEASE_SECONDS"] = str(lease)
    workers.env["AMAZON_TIMEOUT_SECONDS"] = "20"
    shipments = []
    for _ in range(3):
        shipment = services.refresh_shipment(amazon.create_shipment(programme="easy_ship", marketplace="IN",
                                                                    skus=[SKU])["id"])
        services.request_step(shipment, Kind.CONFIRM, packer)
        shipments.append(shipment)
    worker = workers.start()
    wait_for(lambda: not ShipmentStep.objects.filter(kind=Kind.CONFIRM, status__in=ShipmentStep.OPEN_STATES).exists(),
             "the confirms", workers, worker)
    amazon.faults(operations=["createPackages"], latency_ms=4000)  # the worker dies while Amazon writes
    for shipment in shipments:
        shipment.refresh_from_db()
        services.submit_packages(shipment, boxes(shipment, 1), packer)
    wait_for(lambda: len(running_inside(Kind.CREATE_PACKAGES)) == 3, "three createPackages in flight", workers, worker)
    workers.kill(worker)
    killed = timezone.now()
    amazon.clear_faults()
    new = workers.start()  # the supervisor (honcho, systemd) starts it again
    orphans = ShipmentStep.objects.filter(kind=Kind.CREATE_PACKAGES)
    deadline = time.monotonic() + 90
    while orphans.filter(status__in=ShipmentStep.OPEN_STATES).exists():
        assert time.monotonic() < deadline, list(orphans.values_list("status", "attempts", "heartbeat_at"))
        assert new.poll() is None, workers.log(new)
        services.reconcile_steps()  # beat's reconcile-steps
        time.sleep(cadence)
    recovered = 0
    for step in orphans.select_related("shipment"):
        resumed_after = (step.started_at - killed).total_seconds()
        # An orphan whose call had reached Amazon finds it done on the re-read; one killed before its
        # call left (waiting for its rate-limit turn on a busy machine) sends it after the takeover.
        # Either way Amazon accepts it once (below).
        assert (step.status, step.attempts) == (State.SUCCEEDED, 2), step.result
        recovered += step.result == {"recovered": True}
        assert resumed_after < 60, f"resumed {resumed_after:.0f} s after the kill"
        history = Counter(entry["by"] for entry in amazon.state(step.shipment.amazon_id)["history"])
        assert history["createPackages"] == 1
        assert len([c for c in amazon.calls("createPackages", step.shipment.amazon_id) if c["status"] < 300]) == 1
        step.shipment.refresh_from_db()
        assert step.shipment.status == "PACKAGE_CREATED"
    assert recovered >= 1, "no orphan was in Amazon's hands when its worker died"
    print(f"\nresumed {max((s.started_at - killed).total_seconds() for s in orphans):.1f} s after the kill "
          f"(lease {lease} s, reconciler every {cadence} s)")
