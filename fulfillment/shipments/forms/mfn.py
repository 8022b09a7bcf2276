"""Seller-fulfilled (MFN) orders: a confirmed package's correction, a supervisor's word on a label purchase
whose answer was lost."""


from django import forms


class MfnCorrectionForm(forms.Form):
    """Correct a confirmed MFN package: the carrier and tracking number it really went with (the
    reference id, items and quantities stay as first confirmed)."""

    carrier_code = forms.CharField(label="Carrier", max_length=64,
                                   error_messages={"required": "Enter the carrier (e.g. UPS)."})
    tracking_number = forms.CharField(label="Tracking number", max_length=64,
                                      error_messages={"required": "Enter the tracking number."})


class MfnLabelCheckForm(forms.Form):
    """A supervisor's word on a label purchase whose answer was lost, after looking at the order's
    labels in Seller Central: the label found there (its shipment id), or none was bought."""

    BOUGHT, NOT_BOUGHT = "bought", "not_bought"
    found = forms.ChoiceField(
        label="Seller Central shows", widget=forms.RadioSelect,
        choices=[(BOUGHT, "A label for this package"), (NOT_BOUGHT, "No label for this package")],
        error_messages={"required": "Say what Seller Central shows: a label for this package, or none."})
    # Merchant Fulfillment's shipment id is a UUID (merchantFulfillmentV0 getShipment's pattern).
    label_shipment_id = forms.RegexField(
        label="Its shipment id", required=False, max_length=36, strip=True,
        regex=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        error_messages={"invalid": "A shipment id looks like 6f77095e-9f75-47eb-aaab-a42d5428fa1a: copy it "
                                   "from the label's details in Seller Central."})

    def clean(self):
        data = super().clean()
        if data.get("found") == self.BOUGHT and not data.get("label_shipment_id") and "label_shipment_id" not in self.errors:
            self.add_error("label_shipment_id", "Enter the shipment id of the label Seller Central shows.")
        return data
