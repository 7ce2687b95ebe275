"""Filter plumbing shared by every app's filtersets."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BooleanWidget

from core.text import search_words


class TreeWithinFilter(django_filters.ModelChoiceFilter):
    """Filter by a node of a materialised-path tree, including everything below it.

    ``lookup_path`` is the lookup of the row's tree path (``"organization__path"``, ``"path"``…).
    """

    default_lookup_path = "path"

    def __init__(self, *args, lookup_path=None, **kwargs):
        self.lookup_path = lookup_path or self.default_lookup_path
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.lookup_path}__startswith": value.path})


def words_q(value, field="search_name"):
    """Every word of ``value`` in ``field`` (a column of core.text.search_key values), or None.

    "nguyen hang", "NGUYỄN Hằng" and "Nguyễn Thị Hằng" all find "Nguyễn Thị Hằng"; "đ" and "d" alike.
    """
    words = search_words(value)
    if not words:
        return None
    query = Q()
    for word in words:
        query &= Q(**{f"{field}__contains": word})
    return query


def search_names(queryset, value, *, field="search_name", exact=(), iexact=(), icontains=(), prefix=()):
    """The list search (``q``): a name without marks or case, or one of the other fields.

    ``exact``: fields equal to the whole value (card numbers); ``iexact``/``icontains``: the same
    ignoring case (codes: "hn-cg" finds "HN-CG"); ``prefix``: fields starting with it (tax codes).
    """
    value = (value or "").strip()
    if not value:
        return queryset
    query = words_q(value, field) or Q(pk__in=[])
    for name in exact:
        query |= Q(**{name: value})
    for name in iexact:
        query |= Q(**{f"{name}__iexact": value})
    for name in icontains:
        query |= Q(**{f"{name}__icontains": value})
    for name in prefix:
        query |= Q(**{f"{name}__startswith": value})
    return queryset.filter(query)


class AllYesNoWidget(BooleanWidget):
    """A yes/no filter as "All / Yes / No": "All" first, and chosen when nothing is asked
    (Django's own says "Unknown", "Chưa xác định", which reads like a value of the field)."""

    choices_all_yes_no = (("", _("All")), ("true", _("Yes")), ("false", _("No")))

    def __init__(self, attrs=None):
        # Select's, not BooleanWidget's: its choices ("Unknown"…) would be translated, then replaced.
        forms.Select.__init__(self, attrs, self.choices_all_yes_no)


class YesNoFilter(django_filters.BooleanFilter):
    """``BooleanFilter`` offering all / yes / no (``?x=true``, ``?x=false``; nothing or "all": no filter)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", AllYesNoWidget)
        super().__init__(*args, **kwargs)
