"""The answers a step asks for: reject (a reason per line), courier details, a label to regenerate,
the shipping option."""


from django import forms

from .. import workflow
from ..models import ShippingOption
from ..workflow import REJECTION_REASONS

_REJECTION_WORDS = {"OUT_OF_STOCK": "Out of stock", "CUSTOMER_REQUESTED": "Customer asked to cancel"}
REJECTION_REASON_CHOICES = [(code, _REJECTION_WORDS.get(code, code)) for code in REJECTION_REASONS]

class RejectForm(forms.Form):
    """One reason per line item; the packer confirms in a second step (`confirmed`)."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, line_items, **kwargs):
        super().__init__(*args, **kwargs)
        self.line_items = list(line_items)
        for line in self.line_items:
            self.fields[f"reason_{line.line_item_id}"] = forms.ChoiceField(
                label=f"{line.merchant_sku} × {line.number_of_units}",
                choices=[("", "Choose a reason…"), *REJECTION_REASON_CHOICES],
                error_messages={"required": f"Choose why {line.merchant_sku} cannot be shipped.",
                                "invalid_choice": f"Choose why {line.merchant_sku} cannot be shipped."},
            )

    def reasons(self) -> dict[str, str]:
        """shipmentLineItemId -> rejection reason."""
        return {line.line_item_id: self.cleaned_data[f"reason_{line.line_item_id}"] for line in self.line_items}

    def reason_rows(self):
        return [(line, self[f"reason_{line.line_item_id}"]) for line in self.line_items]

class CourierForm(forms.Form):
    """Self-Ship: the seller's own carrier and tracking number go with the label request."""

    carrier_name = forms.CharField(
        label="Carrier", max_length=128, widget=forms.TextInput(attrs={"data-enter-next": ""}),
        error_messages={"required": "Enter your carrier's name.", "max_length": "Carrier: at most 128 characters."})
    tracking_id = forms.CharField(
        label="Tracking number", max_length=128,
        widget=forms.TextInput(attrs={"data-enter-next": "", "autocomplete": "off"}),
        error_messages={"required": "Enter the tracking number.",
                        "max_length": "Tracking number: at most 128 characters."})


class RegenerateLabelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (the old label stops being valid)", max_length=255,
        help_text="Why a new label is needed; the old one stops being valid.",
        error_messages={"required": "Reason: say why the label is regenerated (the old one becomes invalid).",
                        "max_length": "Reason: at most 255 characters."},
        widget=forms.TextInput(attrs={"id": "regen-reason", "autocomplete": "off"}),
    )


class ShippingOptionForm(forms.Form):
    """One choice per carrier. Amazon offers options per package: the packer picks a carrier once
    (`choices`: one option per carrier, see selectors.shipping_choices) and the labels name each
    package's own option of that carrier. A pickup after the ship-by time needs `accept_late`."""

    option = forms.ModelChoiceField(
        label="Shipping option", queryset=ShippingOption.objects.none(), empty_label=None, widget=forms.RadioSelect,
        error_messages={"required": "Shipping option: choose one.",
                        "invalid_choice": "Shipping option: that one is no longer offered; get the options again."})
    accept_late = forms.BooleanField(label="Ship late: take this pickup although it is after the ship-by time",
                                     required=False)

    def __init__(self, *args, shipment, choices, **kwargs):
        self.shipment = shipment
        chosen = shipment.selected_shipping_option
        group = {option.pk: option for option in choices}
        initial = next((o for o in choices if chosen and _same_carrier(o, chosen)), None)
        if initial is None:
            initial = next((o for o in choices if o.is_recommended), choices[0] if choices else None)
        kwargs.setdefault("initial", {"option": initial.pk if initial else None})
        super().__init__(*args, **kwargs)
        self.fields["option"].queryset = ShippingOption.objects.filter(pk__in=group).order_by(
            "-is_recommended", "pickup_start", "id")
        self.late_ids = {pk for pk, option in group.items() if workflow.pickup_after_ship_by(option, shipment)}

    def clean(self):
        cleaned = super().clean()
        option = cleaned.get("option")
        if option is not None and option.pk in self.late_ids and not cleaned.get("accept_late"):
            self.add_error("accept_late", f"Shipping option: the pickup of {option.carrier_name or option.ship_by} "
                                          "starts after the ship-by time, so the shipment will be late. Tick "
                                          "“Ship late” to take it anyway, or choose another option.")
        return cleaned


def _same_carrier(a: ShippingOption, b: ShippingOption) -> bool:
    return (a.carrier_name, a.ship_by, a.ship_method) == (b.carrier_name, b.ship_by, b.ship_method)
