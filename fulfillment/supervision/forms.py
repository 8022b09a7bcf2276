from django import forms

from fulfillment.accounts.locations import EVERYWHERE
from fulfillment.shipments.models import Programme, Status

from .selectors import BoardFilters


class BoardFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=128,
        widget=forms.TextInput(attrs={"placeholder": "Shipment, buyer order or tracking id", "type": "search"}),
    )
    location = forms.ChoiceField(label="Location", required=False)
    programme = forms.ChoiceField(
        label="Programme", required=False, choices=[("", "All programmes"), *Programme.choices]
    )
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "All statuses"), *Status.choices])
    packer = forms.TypedChoiceField(label="Packer", required=False, coerce=int, empty_value=None)
    day = forms.DateField(label="Ship-by day", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, locations=(), packers=(), visible=EVERYWHERE, **kwargs):
        super().__init__(*args, **kwargs)
        self.visible = visible
        self.fields["location"].choices = [("", "All locations"), *((loc, loc) for loc in locations)]
        self.fields["packer"].choices = [("", "All packers"), *((str(pk), name) for pk, name in packers)]

    def filters(self) -> BoardFilters:
        """The valid part of what was asked for; a bad field is reported on the form and ignored."""
        if not self.is_bound:
            return BoardFilters(visible=self.visible)
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return BoardFilters(
            visible=self.visible,
            location=data.get("location") or "",
            programme=data.get("programme") or "",
            status=data.get("status") or "",
            packer=data.get("packer"),
            day=data.get("day"),
            q=(data.get("q") or "").strip(),
        )
