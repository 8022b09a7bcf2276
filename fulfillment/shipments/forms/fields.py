"""Fields whose every message names them: a number box that keeps what was typed, the weight unit,
and the checks a package's fields share (ranges, letter codes, serial numbers)."""


from django import forms
from django.core.exceptions import ValidationError

from .. import workflow
from ..models import WeightUnit


def _number_field(label, *, decimals, example, digits=12, whole=False, required=True, initial=None, attrs=None):
    """A number typed at the station: a plain text box (a number box drops what is not a number, so
    the packer would see the field emptied), messages that name the field."""
    messages = {
        "required": f"Enter the {label.lower()}.",
        "invalid": f"{label}: enter a {'whole ' if whole else ''}number, e.g. {example}.",
        "max_digits": f"{label} has too many digits: check the number.",
        "max_whole_digits": f"{label} has too many digits: check the number.",
        "max_decimal_places": f"{label}: at most {decimals} decimals.",
    }
    widget = forms.TextInput(attrs={"inputmode": "numeric" if whole else "decimal", "autocomplete": "off",
                                    "data-enter-next": "", **(attrs or {})})
    if whole:
        return forms.IntegerField(label=label, required=required, initial=initial, widget=widget,
                                  error_messages=messages)
    return forms.DecimalField(label=label, required=required, initial=initial, max_digits=digits,
                              decimal_places=decimals, widget=widget, error_messages=messages)


def _weight_unit_field(initial, widget=None):
    return forms.ChoiceField(label="Weight unit", choices=[(u, u.lower()) for u in WeightUnit.values],
                             initial=initial, widget=widget,
                             error_messages={"invalid_choice": "Weight unit: choose g, kg, lb or oz."})

def _range(label, least, most, most_words=""):
    def check(value):
        if value is not None and value < least:
            raise ValidationError(f"{label} must be at least {least}.")
        if value is not None and most is not None and value > most:
            raise ValidationError(f"{label}: at most {most}{f' ({most_words})' if most_words else ''}.")
    return [check]


def _letters(label, count, example):
    def check(value):
        if value and (len(value.strip()) != count or not value.strip().isalpha()):
            raise ValidationError(f"{label}: {count} letters, e.g. {example}.")
    return check


def _serial(label):
    def check(value):
        problem = workflow.serial_problem(value)
        if problem:
            raise ValidationError(f"{label} {problem}")
    return check
