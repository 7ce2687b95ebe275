"""A paginator for large lists: no exact ``COUNT(*)`` over hundreds of thousands of rows per request.

:class:`EstimatedCountPaginator` counts exactly while the set is small (a bounded
``COUNT(*)`` over at most ``exact_below + 1`` rows), and above that takes PostgreSQL's planner
estimate (``EXPLAIN``: constant time). Pages are read with one row of look-ahead, so "next
page" is always right, and the count corrects itself on the last page. Page numbers past the
estimate are served rather than refused.

Use it with django-tables2 (``SingleTableMixin``/``SingleTableView``)::

    class MemberListView(SingleTableMixin, FilterView):
        paginator_class = EstimatedCountPaginator

or ``RequestConfig(request, paginate={"paginator_class": EstimatedCountPaginator})``, and with
Django's ``ListView`` (``paginator_class``) or DRF (``PageNumberPagination.django_paginator_class``).
Templates can show "about" when ``paginator.is_estimate`` is true.
"""

import json
import time

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property
from django.utils.translation import gettext as _


def _queryset(object_list):
    """The queryset under ``object_list`` (a QuerySet, or django-tables2's rows/data wrapping one)."""
    for candidate in (object_list, getattr(object_list, "data", None)):
        if isinstance(candidate, QuerySet):
            return candidate
        inner = getattr(candidate, "data", None)
        if isinstance(inner, QuerySet):
            return inner
    return None


def planner_estimate(queryset):
    """PostgreSQL's estimate of the rows ``queryset`` returns (None elsewhere).

    The plan asked for is of the keys alone: the filter and its joins, not the columns and
    ``select_related`` joins a table shows, which only cost the planning (the same rows: a
    ``select_related`` join never adds or drops one)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    explained = queryset.order_by().values("pk").explain(format="json")
    if not explained:  # a queryset that cannot match anything (e.g. pk__in=[]) runs no query
        return 0
    plan = json.loads(explained)
    return int(plan[0]["Plan"]["Plan Rows"])


#: How long a table's size, as PostgreSQL last measured it, is kept in each process (seconds).
TABLE_ROWS_SECONDS = 600
_table_rows = {}


def table_rows(queryset):
    """The rows of the table under ``queryset`` as PostgreSQL last measured them (``reltuples``,
    kept ``TABLE_ROWS_SECONDS`` per process); None before any measurement."""
    connection = connections[queryset.db]
    table = queryset.model._meta.db_table
    key = (queryset.db, table)
    now = time.monotonic()
    kept = _table_rows.get(key)
    if kept is None or now - kept[0] > TABLE_ROWS_SECONDS:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
        kept = _table_rows[key] = (now, row[0] if row and row[0] and row[0] > 0 else None)
    return kept[1]


#: The largest OFFSET asked of the database (a bigint holds 2**63 - 1; no list comes near this).
MAX_OFFSET = 2**62
#: The most rows a page shows, whatever ``?per_page=`` asks.
MAX_PER_PAGE = 500


def _sorted_apart(queryset):
    """``queryset`` in its own order, through expressions no index serves.

    A first page of a small filtered set (a search matching a few thousand of a million members)
    is best read by the filter's index and sorted, but PostgreSQL's planner, expecting the
    matches to be spread evenly, often walks the sort order's index instead and filters as it
    goes: hundreds of thousands of rows when the matches sort late ("Nguyễn …"). Sorting by
    ``COALESCE(field, field)`` leaves it only the first plan; the order is the same.
    """
    meta = queryset.query.get_meta()
    ordering = queryset.query.order_by or meta.ordering
    terms = []
    for term in ordering:
        name = term.lstrip("-") if isinstance(term, str) else None
        if name != "pk":
            try:
                field = meta.get_field(name) if name and "__" not in name else None
            except FieldDoesNotExist:
                field = None
            if field is None or field.is_relation:  # ordered as the related model is: leave it
                return queryset
        expression = Coalesce(F(name), F(name))
        terms.append(expression.desc() if term.startswith("-") else expression.asc())
    return queryset.order_by(*terms)


class EstimatedCountPaginator(Paginator):
    """Exact counts for small sets, PostgreSQL's estimate for large ones, look-ahead pages."""

    #: Up to this many rows the count is exact (a COUNT over at most this many rows + 1).
    exact_below = 10_000

    #: From this estimate on (twice ``exact_below``) the bounded COUNT is skipped: it would read
    #: ``exact_below`` rows of a joined set (50-250 ms at national size; 8 ms of the database's
    #: CPU for a city's members on the demo) only to learn that the set is large, as the estimate
    #: already says. A set this large is not mistaken for a small one, and the last page shows
    #: the exact count (see :meth:`page`).
    trust_estimate_above = 20_000

    #: From this offset on, pages are read keys first, then rows by key (see :meth:`_rows`).
    deferred_from = 1

    #: A first page of a small set of at least this many rows is read keys first too: sorted apart
    #: (``_sorted_apart``), all of them would be joined to what the table shows before the sort
    #: (the enterprises of a province: 20 ms of the database's CPU, 9 ms keys first).
    sort_keys_from = 1000

    #: A small set holding at least this share of its table is not sorted apart: its rows lie
    #: everywhere in the order's index, whose walk finds a page after a few rows at most a
    #: ``1 - share`` of the table (the enterprises a city sees on the demo: 5 ms walking the
    #: index, 12 ms sorting the keys).
    walk_index_from_share = 0.5

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        kwargs.pop("look_ahead", None)
        try:  # ?per_page= comes from the address: at most MAX_PER_PAGE rows, at least one
            per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        except (TypeError, ValueError, OverflowError):
            per_page = 25
        super().__init__(object_list, per_page, orphans=0, allow_empty_first_page=allow_empty_first_page, **kwargs)
        self.is_estimate = False
        self._corrected = None

    @cached_property
    def _counted(self):
        """``(count, is_estimate)``: the same queries whatever the size, so pages cost the same.

        PostgreSQL: the planner's estimate, then (unless the estimate is above
        ``trust_estimate_above``) a COUNT over at most ``exact_below + 1`` rows: one or two
        queries, never more whatever the size; exact below the bound. Elsewhere (SQLite, small
        installations): COUNT.
        """
        queryset = _queryset(self.object_list)
        if queryset is None:
            return len(self.object_list), False
        estimate = planner_estimate(queryset)
        if estimate is None:
            return queryset.count(), False
        if estimate > self.trust_estimate_above:
            return estimate, True
        # values("pk"): the bounded count reads no annotation (a subquery per row) the table shows.
        bounded = queryset.order_by().values("pk")[: self.exact_below + 1].count()
        if bounded <= self.exact_below:
            return bounded, False
        return max(estimate, bounded), True

    @property
    def count(self):
        if self._corrected is not None:
            return self._corrected
        count, self.is_estimate = self._counted
        return count

    @property
    def num_pages(self):
        count = self.count
        if count == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, -(-count // self.per_page))

    def validate_number(self, number):
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(_("That page number is not an integer")) from exc
        if number < 1:
            self._count_exactly()
            raise EmptyPage(_("That page number is less than 1"))
        if (number - 1) * self.per_page > MAX_OFFSET:
            self._count_exactly()
            raise EmptyPage(_("That page contains no results"))  # an OFFSET no database can take
        return number

    def _count_exactly(self):
        """Before refusing a page: an estimated count is replaced by the exact one, so that the
        last page, where django-tables2 turns an address outside the pages, exists (the planner may
        overestimate a large set)."""
        self.count  # noqa: B018 (sets is_estimate when nothing has counted yet)
        if self.is_estimate:
            queryset = _queryset(self.object_list)
            self._corrected = queryset.count() if queryset is not None else len(self.object_list)
            self.is_estimate = False

    def _rows(self, start, stop):
        """The rows ``start:stop``; past the first page by a "deferred join" (issue 7).

        An OFFSET has to walk every skipped row. Past the first page the walk reads only the
        keys (``values_list("pk")``: the filter and the order, none of the ``select_related``
        joins or annotations the table shows), and then the page's rows are read by key.
        """
        queryset = _queryset(self.object_list)
        if (
            queryset is not None
            and start < self.deferred_from
            and self._small_on_postgresql(queryset)
            and self.count < self.walk_index_from_share * (table_rows(queryset) or float("inf"))
        ):
            if self.count < self.sort_keys_from:
                return self._bound(self.object_list, list(_sorted_apart(queryset)[start:stop]))
            # Sorted apart, every matching row is joined before the sort: sort the keys alone.
            return self._by_keys(queryset, _sorted_apart(queryset), start, stop)
        if queryset is None or start < self.deferred_from:
            return list(self.object_list[start:stop])
        return self._by_keys(queryset, queryset, start, stop)

    def _by_keys(self, queryset, ordered, start, stop):
        """The rows ``start:stop`` of ``ordered``: the keys first, then the rows by key."""
        keys = list(ordered.values_list("pk", flat=True)[start:stop])
        found = {record.pk: record for record in queryset.order_by().filter(pk__in=keys)}
        return self._bound(self.object_list, [found[key] for key in keys if key in found])

    @staticmethod
    def _bound(object_list, records):
        table = getattr(object_list, "table", None)
        if table is not None:  # django-tables2's BoundRows: the page holds BoundRow objects
            from django_tables2.rows import BoundRow

            return [BoundRow(record, table=table) for record in records]
        return records

    def _small_on_postgresql(self, queryset):
        """Whether the set is known to be small (counted exactly) on PostgreSQL."""
        if connections[queryset.db].vendor != "postgresql" or not queryset.ordered:
            return False
        count, is_estimate = self._counted
        return not is_estimate and count <= self.exact_below

    def page(self, number):
        number = self.validate_number(number)
        self.count  # noqa: B018 (count first: the same queries for every page and size)
        bottom = (number - 1) * self.per_page
        rows = self._rows(bottom, bottom + self.per_page + 1)
        has_more = len(rows) > self.per_page
        rows = rows[: self.per_page]
        if not rows and number > 1:
            self._count_exactly()  # the estimate promised pages the set does not have
            raise EmptyPage(_("That page contains no results"))
        if not has_more:
            self._corrected = bottom + len(rows)  # the last page: now the count is exact
            self.is_estimate = False
        elif self.count < bottom + self.per_page + 1:
            self._corrected = bottom + self.per_page + 1
        page = self._get_page(rows, number, self)
        page.has_next = lambda: has_more
        return page
