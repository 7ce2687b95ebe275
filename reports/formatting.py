"""How report figures are written: ``1,024/903 (113.4%)`` in English, ``1.024/903 (113,4%)`` in Vietnamese.

Rule 5 of DOMAIN.md. Everything here formats in the *active* language, so call it inside
``translation.override(...)`` (the CLI) or a request (the pages).
"""

from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.translation import get_language

ONE_DECIMAL = Decimal("0.1")


@lru_cache(maxsize=16)
def _separators(language):
    """``(decimal separator, grouping, thousand separator)`` of ``language``, read once: a table
    of a province's 245 committees writes some 6,000 numbers."""
    return get_format("DECIMAL_SEPARATOR"), get_format("NUMBER_GROUPING") or 3, get_format("THOUSAND_SEPARATOR")


@receiver(setting_changed)
def _forget_separators(**kwargs):
    _separators.cache_clear()


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
    decimal_sep, grouping, thousand_sep = _separators(get_language())
    if type(value) is int and grouping == 3:  # the usual case, without numberformat's generality
        return f"{value:,}".replace(",", thousand_sep)
    return numberformat.format(value, decimal_sep, grouping=grouping, thousand_sep=thousand_sep, force_grouping=True)


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
