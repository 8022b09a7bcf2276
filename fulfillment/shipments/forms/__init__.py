"""Station forms: what a packer types, checked field by field before the workflow's rules
(`workflow.validate_packages`) judge the packages as a whole. The templates render every input
from these forms, so a value that was typed always comes back as it was typed, with its error
next to it; every error names its field.

The packages form is a formset of packages; each package has, per line item, the units it
holds and, one field per unit, their serial numbers. Fields that Amazon does not require
(serials, hazmat labels, country of origin, item value, pieces) are not rendered at all. Its cost
is capped by the shipment: at most `workflow.MAX_PACKAGES` packages and, per line, as many serial
fields as units were ordered.

One module per concern: `fields` (the shared field builders and checks), `packing`, `scanning`, `steps`
(reject, courier, labels, options) and `mfn`; every form is importable from here.
"""

from .mfn import MfnCorrectionForm, MfnLabelCheckForm
from .packing import (
    FAST_PATH_PREFIX,
    PACKAGES_PREFIX,
    BoxForm,
    PackageForm,
    fast_path_form,
    package_formset,
    units_to_pack,
)
from .scanning import CartonWeightForm, ScanForm, VerifyForm
from .steps import (
    REJECTION_REASON_CHOICES,
    CourierForm,
    RegenerateLabelForm,
    RejectForm,
    ShippingOptionForm,
)

__all__ = [
    "FAST_PATH_PREFIX", "PACKAGES_PREFIX", "REJECTION_REASON_CHOICES", "BoxForm", "CartonWeightForm", "CourierForm",
    "MfnCorrectionForm", "MfnLabelCheckForm", "PackageForm", "RegenerateLabelForm", "RejectForm", "ScanForm",
    "ShippingOptionForm", "VerifyForm", "fast_path_form", "package_formset", "units_to_pack",
]
