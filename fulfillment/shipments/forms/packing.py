"""The packages a packer records: a box (dimensions and weight), a package (a box with its units,
serial numbers, hazmat labels, country of origin, item value), the formset of a shipment's packages
and the Pack & label form (one box with everything in it)."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from .. import workflow
from ..models import DimensionUnit, Package, Requirement, WeightUnit
from ..workflow import PackageInput, PackageItemInput
from .fields import _letters, _number_field, _range, _serial, _weight_unit_field

PACKAGES_PREFIX = "pkg"


def _required(line, attribute) -> bool:
    return getattr(line, attribute) == Requirement.REQUIRED


def units_to_pack(line) -> int:
    return max(line.number_of_units - line.cancelled_quantity, 0)


class BoxForm(forms.Form):
    """A box: its sides and its weight, within the station's plausible bounds (`bounds`,
    stations.Station.package_bounds). Pack & label asks for this alone."""

    BOX_FIELDS = ("length", "width", "height", "dimension_unit", "weight", "weight_unit")

    length = _number_field("Length", decimals=2, digits=10, example="20.5", attrs={"data-fill": "length"})
    width = _number_field("Width", decimals=2, digits=10, example="15", attrs={"data-fill": "width"})
    height = _number_field("Height", decimals=2, digits=10, example="10", attrs={"data-fill": "height"})
    dimension_unit = forms.ChoiceField(label="Size unit", choices=[(u, u.lower()) for u in DimensionUnit.values],
                                       initial=DimensionUnit.CM, widget=forms.Select(attrs={"data-fill": "unit"}),
                                       error_messages={"invalid_choice": "Size unit: choose cm, m or in."})
    weight = _number_field("Weight", decimals=3, example="350", attrs={"data-fill": "weight"})
    weight_unit = _weight_unit_field(WeightUnit.G)

    def __init__(self, *args, bounds: workflow.PackageBounds = workflow.DEFAULT_BOUNDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.bounds = bounds

    def clean(self):
        cleaned = super().clean()
        unit = cleaned.get("dimension_unit")
        for name in ("length", "width", "height"):
            if unit and cleaned.get(name) is not None:
                problem = workflow.side_problem(self.fields[name].label, cleaned[name], unit, self.bounds)
                if problem:
                    self.add_error(name, problem)
        if cleaned.get("weight_unit") and cleaned.get("weight") is not None:
            problem = workflow.weight_problem(cleaned["weight"], cleaned["weight_unit"], self.bounds)
            if problem:
                self.add_error("weight", problem)
        return cleaned

    def box_fields(self):
        return [self[name] for name in self.BOX_FIELDS]

    def box(self) -> dict:
        """The box as Pack & label carries it on its steps (strings)."""
        return {name: str(self.cleaned_data[name]) for name in self.BOX_FIELDS}


class PackageForm(BoxForm):
    """One package: its box and what is in it."""

    handling = forms.ChoiceField(choices=Package.Handling.choices, initial=Package.Handling.NORMAL, required=False)

    def __init__(self, *args, line_items=(), urls=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.line_items = list(line_items)
        urls = urls or {}
        self.needs_hazmat = any(_required(line, "hazmat_labels_requirement") for line in self.line_items)
        if self.needs_hazmat:
            labels = sorted({label for line in self.line_items for label in (line.hazmat_labels or [])})
            asked = f" (Amazon asks for {', '.join(labels)})" if labels else ""
            self.fields["hazmat_labels"] = forms.CharField(
                label="Hazmat labels on this box", required=False, max_length=255,
                help_text=f"Labels on this box, comma separated{asked}.",
                error_messages={"max_length": "Hazmat labels: at most 255 characters."},
                widget=forms.TextInput(attrs={"data-enter-next": ""}),
            )
        for line in self.line_items:
            lid, sku = line.line_item_id, line.merchant_sku
            qty = _number_field(f"{sku} units", decimals=0, example="1", whole=True, initial=0,
                                attrs={"class": "qty"})
            qty.validators += _range(f"{sku} units", 0, units_to_pack(line), "units ordered")
            if line.serials_required and urls.get("refresh"):
                # One serial box per unit: a new count redraws the form from what was typed.
                qty.widget.attrs.update({"hx-post": urls["refresh"], "hx-trigger": "change", "hx-target": "#work",
                                         "hx-swap": "innerHTML", "hx-vals": '{"form_action": "refresh"}'})
            self.fields[f"qty_{lid}"] = qty
            if line.piece_type == "MULTIPLE":
                pieces = _number_field(f"{sku} pieces", decimals=0, example="2", whole=True, required=False)
                pieces.validators += _range(f"{sku} pieces", 1, 999)
                self.fields[f"pieces_{lid}"] = pieces
            if _required(line, "country_of_origin_requirement"):
                self.fields[f"coo_{lid}"] = forms.CharField(
                    label=f"{sku} country of origin", required=False, initial=line.recommended_country_of_origin,
                    validators=[_letters(f"{sku} country of origin", 2, "CN")],
                    widget=forms.TextInput(attrs={"data-enter-next": "", "autocapitalize": "characters", "size": 3}),
                )
            if _required(line, "item_value_requirement"):
                value = _number_field(f"{sku} value per unit", decimals=2, example="499.00", required=False)
                value.validators += _range(f"{sku} value per unit", Decimal("0.01"), None)
                self.fields[f"value_{lid}"] = value
                self.fields[f"currency_{lid}"] = forms.CharField(
                    label=f"{sku} currency", required=False, initial=line.recommended_currency_code,
                    validators=[_letters(f"{sku} currency", 3, "INR")],
                    widget=forms.TextInput(attrs={"data-enter-next": "", "size": 4, "autocapitalize": "characters"}),
                )
            if line.serials_required:
                for n in range(self._quantity(line)):
                    label = f"Serial of {sku} unit {n + 1}"
                    attrs = {"data-enter-next": "", "autocomplete": "off", "spellcheck": "false", "class": "serial"}
                    if urls.get("check_serial"):  # checked as it is scanned: twice here, or on another shipment
                        attrs.update({"hx-post": urls["check_serial"], "hx-trigger": "change",
                                      "hx-target": "next .serial-status", "hx-swap": "outerHTML",
                                      "hx-sync": "this:replace"})
                    self.fields[f"serial_{lid}_{n}"] = forms.CharField(
                        label=label, required=False, validators=[_serial(label)],
                        # No maxlength: the browser would cut a long scan short and send the stump.
                        widget=forms.TextInput(attrs=attrs),
                    )

    def _quantity(self, line) -> int:
        """Units of a line in this package: from what was typed, else the initial split; never
        more than the line's units (one serial field per unit ordered, whatever is typed)."""
        lid = line.line_item_id
        raw = self.data.get(self.add_prefix(f"qty_{lid}")) if self.is_bound else None
        if raw is None:
            raw = self.initial.get(f"qty_{lid}", 0)
        try:
            return max(0, min(int(raw), units_to_pack(line)))
        except (TypeError, ValueError):
            return 0

    def clean(self):
        cleaned = super().clean()
        for field_name, value in list(cleaned.items()):
            if field_name.startswith(("coo_", "currency_")) and value:
                cleaned[field_name] = value.strip().upper()
        if not any(cleaned.get(f"qty_{line.line_item_id}") or cleaned.get(f"pieces_{line.line_item_id}")
                   for line in self.line_items) and not any(name.startswith(("qty_", "pieces_")) for name in self.errors):
            raise ValidationError("Put at least one unit (or pieces of one) in this package, or remove the package.")
        return cleaned

    def serial_fields(self):
        return [self[name] for name in self.fields if name.startswith("serial_")]

    # --- For the template -------------------------------------------------------------------

    def line_rows(self):
        """Per line item: its quantity field, optional fields and one serial field per unit."""
        rows = []
        for line in self.line_items:
            lid = line.line_item_id
            rows.append({
                "line": line,
                "qty": self[f"qty_{lid}"],
                "extra": [self[name] for name in (f"pieces_{lid}", f"coo_{lid}", f"value_{lid}", f"currency_{lid}")
                          if name in self.fields],
                "serials": [self[name] for name in self.fields if name.startswith(f"serial_{lid}_")],
            })
        return rows

    def to_input(self) -> PackageInput:
        """The workflow's PackageInput."""
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
    default_error_messages = {
        "too_many_forms": f"At most {workflow.MAX_PACKAGES} packages per shipment.",
        "too_few_forms": "Add at least one package.",
    }

    def __init__(self, *args, used_elsewhere=None, **kwargs):
        super().__init__(*args, **kwargs)
        # serial -> another shipment's id (selectors.serials_used_elsewhere), asked for the typed serials
        self.used_elsewhere = used_elsewhere

    def serial_fields(self):
        """(bound field, serial) of every serial typed in the formset, in order."""
        found = []
        for form in self.forms:
            for field in form.serial_fields():
                value = (field.value() or "").strip()
                if value:
                    found.append((field, value))
        return found

    def typed_serials(self) -> list[str]:
        return [serial for _, serial in self.serial_fields()]

    def clean(self):
        # The serial rule (workflow.serial_clashes) marks each field that breaks it.
        used = self.used_elsewhere(self.typed_serials()) if self.used_elsewhere else {}
        clashes = workflow.serial_clashes(self.typed_serials(), used)
        for field, serial in self.serial_fields():
            if serial in clashes and field.name in field.form.fields and not field.errors:
                field.form.add_error(field.name, clashes[serial])

    def to_inputs(self) -> list[PackageInput]:
        return [form.to_input() for form in self.forms]

    def error_summary(self) -> list[str]:
        """Every error of the formset, each naming its package and field, for the banner above it."""
        found = list(self.non_form_errors())
        for number, form in enumerate(self.forms, start=1):
            found.extend(f"Package {number}: {error}" for error in form.non_field_errors())
            found.extend(f"Package {number}: {error}" for field in form for error in field.errors)  # in page order
        return found


PackageFormSet = forms.formset_factory(
    PackageForm, formset=BasePackageFormSet, extra=0, min_num=1, validate_min=True,
    max_num=workflow.MAX_PACKAGES, validate_max=True, absolute_max=workflow.MAX_PACKAGES,
)


def package_formset(shipment, line_items, data=None, *, bounds=workflow.DEFAULT_BOUNDS, used_elsewhere=None,
                    urls=None):
    """The packages formset: bound to what was typed, else one package with every unit in it,
    sized like Amazon's recommended package. `used_elsewhere(serials)` names the other shipments
    that hold any of the serials (selectors.serials_used_elsewhere); `urls` are where a quantity
    change ("refresh") and a scanned serial ("check_serial") are sent."""
    form_kwargs = {"line_items": line_items, "bounds": bounds, "urls": urls}
    if data is not None:
        return PackageFormSet(data, prefix=PACKAGES_PREFIX, form_kwargs=form_kwargs, used_elsewhere=used_elsewhere)
    initial = {**_recommended_box(shipment), "handling": Package.Handling.NORMAL}
    for line in line_items:
        initial[f"qty_{line.line_item_id}"] = units_to_pack(line)
        if line.piece_type == "MULTIPLE":
            initial[f"pieces_{line.line_item_id}"] = None
    return PackageFormSet(prefix=PACKAGES_PREFIX, initial=[initial], form_kwargs=form_kwargs)


FAST_PATH_PREFIX = "fp"


def _recommended_box(shipment) -> dict:
    """Amazon's recommended package as the packer would write it (21, not 21.00)."""
    def plain(value):
        return None if value is None else f"{Decimal(value).normalize():f}"

    return {
        "length": plain(shipment.recommended_length), "width": plain(shipment.recommended_width),
        "height": plain(shipment.recommended_height),
        "dimension_unit": shipment.recommended_dimension_unit or DimensionUnit.CM,
        # Amazon's recommended weight is a hint beside the box (weighing.amazon_hint), never the value sent.
        "weight_unit": shipment.recommended_weight_unit or WeightUnit.G,
    }


def fast_path_form(shipment, data=None, *, bounds=workflow.DEFAULT_BOUNDS) -> BoxForm:
    """Pack & label's box: bound to what was typed, else Amazon's recommended package."""
    initial = _recommended_box(shipment)
    # auto_id "%s": the inputs' ids are their names (fp-weight), which the page's labels and scripts use.
    form = BoxForm(data, prefix=FAST_PATH_PREFIX, auto_id="%s", initial=initial, bounds=bounds)
    form.fields["weight"].widget.attrs["data-scan-focus"] = ""  # the one number read off the scale
    return form
