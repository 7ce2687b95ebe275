from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst


def normalize_tax_code(value):
    """The tax code in its canonical form (``0100109106`` or ``0100109106-001``)."""
    return mst.format(mst.compact(value or ""))


def validate_tax_code(value):
    try:
        mst.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("%(value)s is not a valid tax code (10 digits with a check digit, or 10 + '-' + 3 for a branch)."),
            code="invalid_tax_code",
            params={"value": value},
        ) from exc
    if normalize_tax_code(value) != value:
        raise ValidationError(
            _("Write the tax code as %(canonical)s."),
            code="tax_code_format",
            params={"canonical": normalize_tax_code(value)},
        )


def validate_citizen_id(value):
    if not (isinstance(value, str) and len(value) == 12 and value.isascii() and value.isdigit()):
        raise ValidationError(_("A citizen ID has exactly 12 digits."), code="invalid_citizen_id")


def tax_code_for(serial, province="01"):
    """A valid 10-digit tax code for a serial number (demo data, tests and the scale generator).

    Serials whose check digit would be 10 are skipped forward, so distinct serials can map to one
    code; callers pass serials spaced apart (the function returns the code and the serial used).
    """
    while True:
        body = f"{province}{serial % 10_000_000:07d}"
        check = mst.calc_check_digit(body)
        if len(check) == 1 and body[2:9] != "0000000":
            return body + check
        serial += 1


ORGANIZATION_CODE = RegexValidator(
    r"^[A-Z0-9]+(?:-[A-Z0-9]+)*\Z",
    _("A code is written in upper-case letters without marks, digits and single hyphens, such as HN-CG-HONGHA."),
    code="invalid_organization_code",
)


def validate_organization_code(value):
    ORGANIZATION_CODE(value)
