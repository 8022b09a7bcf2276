"""The supervisor's label check at the station (views.mfn.mfn_label_check): who may settle a label
purchase in doubt, what the form refuses, and what each answer does (an MFN order from the real
sandbox; the adopting step itself is tested in test_mfn_label_recovery_sandbox)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from fulfillment.accounts import roles
from fulfillment.shipments import services
from fulfillment.shipments.models import Package, ShipmentEvent, ShipmentStep
from fulfillment.shipments.services.mfn.steps import label_in_doubt
from fulfillment.stations.models import Station
from tests.shipments.test_mfn_sandbox import boxes, new_order

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
SOLD = "6f77095e-9f75-47eb-aaab-a42d5428fa1a"


def _user(django_user_model, name, role):
    user = django_user_model.objects.create_user(name, password="x")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def in_doubt(amazon, packer):
    _, order = new_order(amazon, marketplace="US", skus=["LEGO-60337-CITY"], ship_by_hours=30)
    Station.objects.create(name="Bench 1", location_id=order.location_id)  # the floor's only station
    services.save_packages(order, boxes(order), packer)
    [package] = order.packages.all()
    label_in_doubt(package, "Amazon did not say whether the label was bought.")
    return order, package


def _check(client, order, package, **data):
    return client.post(reverse("shipments:mfn_label_check", args=[order.amazon_id]),
                       {"package": package.pk, **data}, **HTMX)


def test_only_a_supervisor_or_an_admin_settles_it_and_the_packer_is_told_to_call_one(
        client, in_doubt, django_user_model):
    order, package = in_doubt
    client.force_login(_user(django_user_model, "pat", roles.PACKER))
    page = client.get(reverse("shipments:detail", args=[order.amazon_id])).content.decode()
    assert "data-label-in-doubt" in page and "Call your supervisor" in page
    assert "data-label-check" not in page and 'data-action="MFN_BUY_CHEAPEST"' not in page
    assert _check(client, order, package, found="not_bought").status_code == 403
    client.force_login(_user(django_user_model, "sam", roles.SUPERVISOR))
    page = client.get(reverse("shipments:detail", args=[order.amazon_id])).content.decode()
    assert "data-label-check" in page and 'name="label_shipment_id"' in page
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.UNKNOWN


def test_no_label_bought_frees_the_package_and_says_who(client, in_doubt, django_user_model):
    order, package = in_doubt
    admin = _user(django_user_model, "ada", roles.ADMIN)
    client.force_login(admin)
    answer = _check(client, order, package, found="not_bought").content.decode()
    assert "may be bought a label now" in answer and 'data-action="MFN_BUY_CHEAPEST"' in answer
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.NONE and package.label_error == ""
    assert order.events.get(kind=ShipmentEvent.Kind.NOTE, data__not_bought=True).user == admin
    assert "not in doubt" in _check(client, order, package, found="not_bought").content.decode()  # said once


@pytest.mark.parametrize(("data", "says"), [
    ({}, "Say what Seller Central shows"),
    ({"found": "bought"}, "Enter the shipment id"),
    ({"found": "bought", "label_shipment_id": "1Z999AA10123456784"}, "A shipment id looks like"),
])
def test_the_form_refuses_what_cannot_be_a_label_check(client, in_doubt, django_user_model, data, says):
    order, package = in_doubt
    client.force_login(_user(django_user_model, "sam", roles.SUPERVISOR))
    assert says in _check(client, order, package, **data).content.decode()
    package.refresh_from_db()
    assert package.label_status == Package.LabelStatus.UNKNOWN and not order.steps.exists()


def test_a_label_found_is_asked_for_once_however_often_it_is_sent(client, in_doubt, django_user_model,
                                                                  django_capture_on_commit_callbacks):
    order, package = in_doubt
    supervisor = _user(django_user_model, "sam", roles.SUPERVISOR)
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=False):  # no worker: the step stays open
        for _ in range(2):  # a double click
            assert _check(client, order, package, found="bought", label_shipment_id=f" {SOLD} ").status_code == 200
    step = order.steps.get()
    assert (step.kind, step.requested_by, step.payload) == (
        ShipmentStep.Kind.MFN_ADOPT_LABEL, supervisor, {"package": str(package.pk), "label_shipment_id": SOLD})
