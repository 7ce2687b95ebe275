"""Querysets compiled once per database connection and run with new values on every call.

Django compiles a queryset's SQL anew each time it runs: for the user of every request (the user,
their profile and whether they confirmed a second factor) or the role assignments, the compiling
costs several times the query itself. :class:`PreparedQuery` compiles the queryset once per
connection with sentinel integers where the values go, and then runs the same SQL with the values
of each call in the sentinels' places. The rows become model instances through Django's own
iterable (``select_related`` and annotations included), from the compiler the first call kept.

Only whole-number values are bound this way (keys): any other value, or a queryset whose SQL does
not carry each sentinel exactly once as a parameter, runs through the ordinary path.
"""

import threading

from django.db import connections, router

#: The first sentinel, each next one more: a whole number within every integer column's range (Django
#: finds that a key out of range matches nothing and compiles no SQL) that no key of this project reaches.
_SENTINEL = 2_104_729_351


class PreparedQuery:
    """``PreparedQuery(build)(*keys)``: the rows of ``build(*keys)`` as a list, its SQL compiled
    once per connection. ``build`` takes whole numbers and returns a queryset of model instances
    whose shape does not depend on them (``Model.objects.filter(user_id=user_id).select_related(...)``)."""

    def __init__(self, build):
        self.build = build
        self.model = None
        self._local = threading.local()

    def __call__(self, *keys):
        if not all(type(key) is int for key in keys):
            return list(self.build(*keys))
        if self.model is None:
            self.model = self.build(*self._sentinels(len(keys))).model
        alias = router.db_for_read(self.model)
        prepared = self._prepared(alias, len(keys))
        if prepared is None:
            return list(self.build(*keys).using(alias))
        queryset, compiler, positions, sql, params = prepared
        bound = list(params)
        for position, key in zip(positions, keys, strict=True):
            bound[position] = key
        compiler.bound = (sql, tuple(bound))
        return list(queryset.all())

    @staticmethod
    def _sentinels(arity):
        return [_SENTINEL + index for index in range(arity)]

    def _prepared(self, alias, arity):
        """``(queryset, compiler, positions of the sentinels, sql, params)`` for this thread's
        connection to ``alias``, or None when the SQL cannot be bound by position."""
        kept = self._local.__dict__.setdefault("kept", {})
        connection = connections[alias]
        if alias in kept and kept[alias][0] is connection:
            return kept[alias][1]
        sentinels = self._sentinels(arity)
        queryset = self.build(*sentinels).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        positions = [[index for index, param in enumerate(params) if param == value] for value in sentinels]
        prepared = None
        if all(len(found) == 1 for found in positions):
            compiler.as_sql = lambda *args, **kwargs: compiler.bound
            queryset.query.get_compiler = lambda *args, **kwargs: compiler
            prepared = (queryset, compiler, [found[0] for found in positions], sql, params)
        kept[alias] = (connection, prepared)
        return prepared
