"""How report figures are written: ``1,024/903 (113.4%)`` in English, ``1.024/903 (113,4%)`` in Vietnamese.

Rule 5 of DOMAIN.md. Everything here formats in the *active* language, so call it inside
``translation.override(...)`` (the CLI) or a request (the pages).
"""

from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.utils import numberformat
from django.utils.formats import get_format

ONE_DECIMAL = Decimal("0.1")


def percent_of(actual, target):
    """``actual / target × 100`` rounded half-up to one decimal; None without a (positive) target.

    The ratio is exact (Decimal with ample precision), so 2/3 → 66.7, 1/8 → 12.5, 1/6 → 16.7.
    """
    if target is None or target <= 0 or actual is None:
        return None
    with localcontext() as context:
        context.prec = 60
        ratio = Decimal(actual) * 100 / Decimal(target)
        return ratio.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def format_number(value):
    """A number with the active locale's separators and digit grouping by thousands.

    Django's Vietnamese formats define no ``NUMBER_GROUPING``, so grouping falls back to 3.
    """
    if value is None:
        return ""
    return numberformat.format(
        value,
        get_format("DECIMAL_SEPARATOR"),
        grouping=get_format("NUMBER_GROUPING") or 3,
        thousand_sep=get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )


def format_percent(percent):
    """``113.4`` → ``113.4%`` (``113,4%`` in Vietnamese); a trailing ``.0`` is dropped: ``242%``."""
    if percent is None:
        return ""
    percent = Decimal(percent)
    if percent == percent.to_integral_value():
        percent = int(percent)
    return f"{format_number(percent)}%"


def display(actual, target, percent):
    """``actual/target (percent%)``; only the actual without a target; no percent for a zero target."""
    if target is None:
        return format_number(actual)
    shown = f"{format_number(actual)}/{format_number(target)}"
    if percent is not None:
        shown += f" ({format_percent(percent)})"
    return shown
