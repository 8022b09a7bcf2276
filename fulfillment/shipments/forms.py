"""Station forms: what a packer types, checked field by field before the workflow's rules
(`workflow.validate_packages`) judge the packages as a whole.

The packages form is a formset of packages; each package has, per line item, the units it
holds and, one field per unit, their serial numbers. Fields that Amazon does not require
(serials, hazmat labels, country of origin, item value, pieces) are not rendered at all.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from .models import DimensionUnit, Package, Requirement, WeightUnit
from .workflow import REJECTION_REASONS, PackageInput, PackageItemInput

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
                error_messages={"required": f"Choose why {line.merchant_sku} cannot be shipped."},
            )

    def reasons(self) -> dict[str, str]:
        """shipmentLineItemId -> rejection reason."""
        return {line.line_item_id: self.cleaned_data[f"reason_{line.line_item_id}"] for line in self.line_items}

    def reason_rows(self):
        return [(line, self[f"reason_{line.line_item_id}"]) for line in self.line_items]


def _required(line, attribute) -> bool:
    return getattr(line, attribute) == Requirement.REQUIRED


class PackageForm(forms.Form):
    """One package: size, weight, what is in it."""

    length = forms.DecimalField(error_messages={"required": "Enter the length.", "min_value": "The length must be more than 0."}, min_value=Decimal("0.01"), max_digits=10, decimal_places=2,
                                widget=forms.NumberInput(attrs={"step": "0.01", "data-enter-next": "", "inputmode": "decimal", "data-fill": "length"}))
    width = forms.DecimalField(error_messages={"required": "Enter the width.", "min_value": "The width must be more than 0."}, min_value=Decimal("0.01"), max_digits=10, decimal_places=2,
                               widget=forms.NumberInput(attrs={"step": "0.01", "data-enter-next": "", "inputmode": "decimal", "data-fill": "width"}))
    height = forms.DecimalField(error_messages={"required": "Enter the height.", "min_value": "The height must be more than 0."}, min_value=Decimal("0.01"), max_digits=10, decimal_places=2,
                                widget=forms.NumberInput(attrs={"step": "0.01", "data-enter-next": "", "inputmode": "decimal", "data-fill": "height"}))
    dimension_unit = forms.ChoiceField(label="Unit", choices=[(unit, unit) for unit in DimensionUnit.values], initial=DimensionUnit.CM,
                                       widget=forms.Select(attrs={"data-fill": "unit"}))
    weight = forms.DecimalField(error_messages={"required": "Enter the weight.", "min_value": "The weight must be more than 0."}, min_value=Decimal("0.001"), max_digits=12, decimal_places=3,
                                widget=forms.NumberInput(attrs={"step": "any", "data-enter-next": "", "inputmode": "decimal",
                                                                "data-fill": "weight"}))
    weight_unit = forms.ChoiceField(label="Unit", choices=[(unit, unit) for unit in WeightUnit.values], initial=WeightUnit.G)
    handling = forms.ChoiceField(choices=Package.Handling.choices, initial=Package.Handling.NORMAL, required=False)

    def __init__(self, *args, line_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.line_items = list(line_items)
        self.needs_hazmat = any(_required(line, "hazmat_labels_requirement") for line in self.line_items)
        if self.needs_hazmat:
            labels = sorted({label for line in self.line_items for label in (line.hazmat_labels or [])})
            asked = f" (Amazon asks for {', '.join(labels)})" if labels else ""
            self.fields["hazmat_labels"] = forms.CharField(
                required=False,
                help_text=f"Labels on this box, comma separated{asked}.",
                widget=forms.TextInput(attrs={"data-enter-next": ""}),
            )
        for line in self.line_items:
            lid = line.line_item_id
            self.fields[f"qty_{lid}"] = forms.IntegerField(
                label=f"{line.merchant_sku} units", min_value=0, max_value=line.number_of_units, initial=0,
                widget=forms.NumberInput(attrs={"data-enter-next": "", "inputmode": "numeric", "class": "qty"}),
            )
            if line.piece_type == "MULTIPLE":
                self.fields[f"pieces_{lid}"] = forms.IntegerField(label=f"{line.merchant_sku} pieces", min_value=1, required=False)
            if _required(line, "country_of_origin_requirement"):
                self.fields[f"coo_{lid}"] = forms.CharField(
                    label=f"{line.merchant_sku} country of origin", max_length=2, min_length=2, required=False,
                    initial=line.recommended_country_of_origin,
                    widget=forms.TextInput(attrs={"data-enter-next": "", "autocapitalize": "characters", "size": 3}),
                )
            if _required(line, "item_value_requirement"):
                self.fields[f"value_{lid}"] = forms.DecimalField(
                    label=f"{line.merchant_sku} value per unit", min_value=Decimal("0.01"), decimal_places=2, required=False,
                    widget=forms.NumberInput(attrs={"step": "0.01", "data-enter-next": ""}),
                )
                self.fields[f"currency_{lid}"] = forms.CharField(
                    label="Currency", max_length=3, min_length=3, required=False, initial=line.recommended_currency_code,
                    widget=forms.TextInput(attrs={"data-enter-next": "", "size": 4}),
                )
            if line.serials_required:
                for n in range(self._quantity(lid)):
                    self.fields[f"serial_{lid}_{n}"] = forms.CharField(
                        label=f"{line.merchant_sku} unit {n + 1} serial", max_length=128, required=False,
                        widget=forms.TextInput(attrs={"data-enter-next": "", "autocomplete": "off", "spellcheck": "false",
                                                      "class": "serial"}),
                    )

    def _quantity(self, lid) -> int:
        """Units of a line in this package: from what was typed, else the initial split."""
        raw = self.data.get(self.add_prefix(f"qty_{lid}")) if self.is_bound else None
        if raw is None:
            raw = self.initial.get(f"qty_{lid}", 0)
        try:
            return max(0, min(int(raw), 500))
        except (TypeError, ValueError):
            return 0

    def clean(self):
        cleaned = super().clean()
        for field_name, value in list(cleaned.items()):
            if field_name.startswith(("coo_", "currency_")) and value:
                cleaned[field_name] = value.strip().upper()
            if field_name.startswith("serial_") and value:
                cleaned[field_name] = value.strip()
        if not any(cleaned.get(f"qty_{line.line_item_id}") or cleaned.get(f"pieces_{line.line_item_id}")
                   for line in self.line_items):
            raise ValidationError("Put at least one unit (or pieces of one) in this package, or remove the package.")
        return cleaned

    # --- For the template -------------------------------------------------------------------

    def line_rows(self):
        """Per line item: its quantity field, optional fields and one serial field per unit."""
        rows = []
        for line in self.line_items:
            lid = line.line_item_id
            rows.append({
                "line": line,
                "qty": self[f"qty_{lid}"],
                "pieces": self[f"pieces_{lid}"] if f"pieces_{lid}" in self.fields else None,
                "coo": self[f"coo_{lid}"] if f"coo_{lid}" in self.fields else None,
                "value": self[f"value_{lid}"] if f"value_{lid}" in self.fields else None,
                "currency": self[f"currency_{lid}"] if f"currency_{lid}" in self.fields else None,
                "serials": [self[name] for name in self.fields if name.startswith(f"serial_{lid}_")],
            })
        return rows

    def to_input(self) -> PackageInput | None:
        """The workflow's PackageInput (None when the package holds nothing)."""
        data = self.cleaned_data
        items = []
        for line in self.line_items:
            lid = line.line_item_id
            quantity = data.get(f"qty_{lid}") or 0
            # Pieces without units (multi-piece lines only have the field): part of a unit counted in another box.
            if not quantity and not data.get(f"pieces_{lid}"):
                continue
            items.append(PackageItemInput(
                line_item_id=lid,
                quantity=quantity,
                serial_numbers=[data.get(f"serial_{lid}_{n}") or "" for n in range(quantity)] if line.serials_required else [],
                country_of_origin=data.get(f"coo_{lid}") or "",
                item_value=data.get(f"value_{lid}"),
                item_value_currency=data.get(f"currency_{lid}") or "",
                pieces=data.get(f"pieces_{lid}"),
            ))
        labels = [label.strip() for label in (data.get("hazmat_labels") or "").split(",") if label.strip()]
        return PackageInput(
            length=data["length"], width=data["width"], height=data["height"], weight=data["weight"],
            dimension_unit=data["dimension_unit"], weight_unit=data["weight_unit"],
            hazmat_labels=labels, handling=data.get("handling") or Package.Handling.NORMAL, items=items,
        )


class BasePackageFormSet(forms.BaseFormSet):
    def serials(self):
        """(field html name, serial) of every serial typed in the formset, in order."""
        found = []
        for form in self.forms:
            for name in form.fields:
                if name.startswith("serial_"):
                    value = (form.data.get(form.add_prefix(name)) or "").strip()
                    if value:
                        found.append((form.add_prefix(name), value))
        return found

    def clean(self):
        if any(self.errors):
            return
        seen = {}
        for html_name, serial in self.serials():
            if serial in seen:
                raise ValidationError(f"Serial number {serial} is entered twice; each unit has its own.")
            seen[serial] = html_name

    def to_inputs(self) -> list[PackageInput]:
        return [form.to_input() for form in self.forms]


PackageFormSet = forms.formset_factory(
    PackageForm, formset=BasePackageFormSet, extra=0, min_num=1, validate_min=True, max_num=20, validate_max=True
)
PACKAGES_PREFIX = "pkg"


def package_formset(shipment, line_items, data=None):
    """The packages formset: bound to what was typed, else one package with every unit in it,
    sized like Amazon's recommended package."""
    if data is not None:
        return PackageFormSet(data, prefix=PACKAGES_PREFIX, form_kwargs={"line_items": line_items})
    initial = {
        "length": shipment.recommended_length,
        "width": shipment.recommended_width,
        "height": shipment.recommended_height,
        "dimension_unit": shipment.recommended_dimension_unit or DimensionUnit.CM,
        "weight": shipment.recommended_weight,
        "weight_unit": shipment.recommended_weight_unit or WeightUnit.G,
        "handling": Package.Handling.NORMAL,
    }
    for line in line_items:
        remaining = line.number_of_units - line.cancelled_quantity
        initial[f"qty_{line.line_item_id}"] = remaining
        if line.piece_type == "MULTIPLE":
            initial[f"pieces_{line.line_item_id}"] = None
    return PackageFormSet(prefix=PACKAGES_PREFIX, initial=[initial], form_kwargs={"line_items": line_items})


class CourierForm(forms.Form):
    """Self-Ship: the seller's own carrier and tracking number go with the label request."""

    carrier_name = forms.CharField(max_length=128, widget=forms.TextInput(attrs={"data-enter-next": ""}))
    tracking_id = forms.CharField(label="Tracking number", max_length=128,
                                  widget=forms.TextInput(attrs={"data-enter-next": "", "autocomplete": "off"}))


class RegenerateLabelForm(forms.Form):
    reason = forms.CharField(
        max_length=255, help_text="Why a new label is needed; the old one stops being valid.",
        error_messages={"required": "Say why the label is regenerated (the old one becomes invalid)."},
    )


class ShippingOptionForm(forms.Form):
    option = forms.ModelChoiceField(queryset=None, empty_label=None, widget=forms.RadioSelect,
                                    error_messages={"required": "Choose a shipping option."})

    def __init__(self, *args, options, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].queryset = options
