"""Querysets compiled once per database connection and run with new values on every call.

Django builds and compiles a queryset's SQL anew each time it runs: for the user of every request
(the user, their profile and whether they confirmed a second factor), the role assignments or a
member read through the viewer's scope, that costs several times the query itself.
:class:`PreparedQuery` builds and compiles the queryset once per connection (and shape) with
sentinel integers where the keys go, and then runs the same SQL with the keys of each call in the
sentinels' places. The rows become model instances through Django's own iterable
(``select_related`` and annotations included), from the compiler the first call kept.

Only whole-number values are bound this way (keys): any other value, or a queryset whose SQL does
not carry each sentinel exactly once as a parameter, runs through the ordinary path.
"""

import threading

from django.core.exceptions import EmptyResultSet
from django.db import connections, router

#: The first sentinel, each next one more: a whole number within every integer column's range (Django
#: finds that a key out of range matches nothing and compiles no SQL) that no key of this project reaches.
_SENTINEL = 2_104_729_351


class PreparedQuery:
    """``PreparedQuery(build)(*keys, shape=…, **context)``: the rows of ``build(*keys, **context)``
    as a list, its SQL compiled once per connection and shape.

    ``build`` returns a queryset of model instances whose SQL depends on its whole-number ``keys``
    only through their values (``Model.objects.filter(user_id=user_id).select_related(…)``).
    Anything else its SQL depends on (the viewer's scope) goes in ``context`` and is named by
    ``shape``, a hashable value: one compiled query is kept per shape, up to ``shapes`` of them
    per connection. The SQL is kept for the life of the connection: a queryset whose SQL carries
    the day (``today()``) or values read from the data must not be prepared."""

    def __init__(self, build, shapes=256):
        self.build = build
        self.shapes = shapes
        self._models = {}  # the model of each shape's rows, which the database router is asked about
        self._local = threading.local()

    def __call__(self, *keys, shape=None, **context):
        if not all(type(key) is int for key in keys):
            return list(self.build(*keys, **context))
        model = self._models.get(shape)
        if model is None:
            if len(self._models) >= self.shapes:
                self._models.clear()
            model = self._models[shape] = self.build(*self._sentinels(len(keys)), **context).model
        alias = router.db_for_read(model)
        prepared = self._prepared(alias, len(keys), shape, context)
        if prepared is None:
            return list(self.build(*keys, **context).using(alias))
        queryset, compiler, positions, sql, params = prepared
        bound = list(params)
        for position, key in zip(positions, keys, strict=True):
            bound[position] = key
        compiler.bound = (sql, tuple(bound))
        return list(queryset.all())

    @staticmethod
    def _sentinels(arity):
        return [_SENTINEL + index for index in range(arity)]

    def _prepared(self, alias, arity, shape, context):
        """``(queryset, compiler, positions of the sentinels, sql, params)`` for this thread's
        connection to ``alias`` and ``shape``, or None when the SQL cannot be bound by position."""
        connection = connections[alias]
        kept = self._local.__dict__.setdefault("kept", {})
        if alias not in kept or kept[alias][0] is not connection:
            kept[alias] = (connection, {})
        compiled = kept[alias][1]
        if shape in compiled:
            return compiled[shape]
        if len(compiled) >= self.shapes:
            compiled.clear()
        sentinels = self._sentinels(arity)
        queryset = self.build(*sentinels, **context).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # it matches nothing whatever the keys: the ordinary path runs no query
            sql, params = "", ()
        positions = [[index for index, param in enumerate(params) if param == value] for value in sentinels]
        prepared = None
        if sql and all(len(found) == 1 for found in positions):
            compiler.as_sql = lambda *args, **kwargs: compiler.bound
            queryset.query.get_compiler = lambda *args, **kwargs: compiler
            prepared = (queryset, compiler, [found[0] for found in positions], sql, params)
        compiled[shape] = prepared
        return prepared
