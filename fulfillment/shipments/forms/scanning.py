"""What a scanner types: the scan box, a carton's weight, an item scanned to verify."""

from decimal import Decimal

from django import forms

from .. import workflow
from ..models import WeightUnit
from .fields import _weight_unit_field


class ScanForm(forms.Form):
    """The station's scan box: a shipment id, buyer order id or tracking number (and Enter)."""

    q = forms.CharField(
        label="Scan or type a shipment id, buyer order id or tracking number", max_length=128,
        error_messages={"required": "Scan or type a shipment id, buyer order id or tracking number.",
                        "max_length": "That code is too long for a shipment, order or tracking id: scan it again."},
        widget=forms.TextInput(attrs={"id": "scan-input", "autocomplete": "off", "spellcheck": "false",
                                      "data-scan-focus": "", "data-scan-box": "", "placeholder": "Scan a shipment, order or tracking number"}),
    )

    def add_error(self, field, error):
        super().add_error(field, error)
        self.fields["q"].widget.attrs["aria-describedby"] = "scan-error"  # the box's id is its own, not id_q



class CartonWeightForm(forms.Form):
    """The open carton's weight at a scan-to-pack station without a network scale: typed, or typed by a
    USB scale in keyboard mode, which often writes its unit after the number ("0.42 kg")."""

    weight = forms.CharField(label="Carton weight", max_length=32, error_messages={
        "required": "Type the carton's weight (or put it on the USB scale), then press Enter."},
        widget=forms.TextInput(attrs={"id": "carton-weight", "inputmode": "decimal", "autocomplete": "off",
                                      "spellcheck": "false"}))
    weight_unit = _weight_unit_field(WeightUnit.KG, forms.Select(attrs={"id": "carton-weight-unit"}))

    def __init__(self, *args, bounds: workflow.PackageBounds = workflow.DEFAULT_BOUNDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.bounds = bounds

    def clean(self):
        cleaned = super().clean()
        text = (cleaned.get("weight") or "").strip().replace(",", ".")
        if not text:
            return cleaned
        number, _, unit = text.partition(" ") if " " in text else (text.rstrip("gklbozGKLBOZ"), "",
                                                                    text[len(text.rstrip("gklbozGKLBOZ")):])
        unit = unit.strip().upper()
        if unit:
            if unit not in WeightUnit.values:
                self.add_error("weight", f"Weight: {unit.lower()} is not a unit here; use g, kg, lb or oz.")
                return cleaned
            cleaned["weight_unit"] = unit
        try:
            cleaned["weight"] = Decimal(number.strip())
            if not cleaned["weight"].is_finite():
                raise ArithmeticError
        except ArithmeticError:
            self.add_error("weight", f"Weight: {text} is not a number; type it again, e.g. 0.45.")
            return cleaned
        if cleaned.get("weight_unit"):
            problem = workflow.weight_problem(cleaned["weight"], cleaned["weight_unit"], self.bounds)
            if problem:
                self.add_error("weight", problem)
        return cleaned


class VerifyForm(forms.Form):
    """Scan to verify: one unit's barcode or SKU."""

    code = forms.CharField(
        label="Scan an item", max_length=128, strip=True,
        error_messages={"required": "Nothing was scanned. Scan the item's barcode.",
                        "max_length": "That code is too long for an item barcode: scan it again."},
        widget=forms.TextInput(attrs={"id": "verify-input", "autocomplete": "off", "spellcheck": "false",
                                      "placeholder": "Scan each item (SKU or barcode)", "data-scan-focus": ""}),
    )
