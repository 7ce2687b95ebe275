"""Filter plumbing shared by every app's filtersets."""

import django_filters


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
