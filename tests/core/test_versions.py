"""What a process keeps per data version (core.versions.KeptPerDataVersion): the same value until a
write bumps the version, nothing kept from a transaction that wrote."""

import pytest
from django.db import transaction

from core.versions import KeptPerDataVersion, bump, bump_data_version, bump_structure


def counter():
    built = []

    def build():
        built.append(len(built) + 1)
        return built[-1]

    return built, build


def test_a_value_is_built_once_per_data_version_and_again_after_a_write():
    kept = KeptPerDataVersion(4)
    built, build = counter()
    assert kept.get("key", build) == 1
    assert kept.get("key", build) == 1
    bump_structure()  # the structure version alone: what is counted from the data stays
    assert kept.get("key", build) == 1
    bump()
    assert kept.get("key", build) == 2
    assert built == [1, 2]


def test_at_most_size_keys_are_kept_the_oldest_going_first():
    kept = KeptPerDataVersion(2)
    built, build = counter()
    for key in ("a", "b", "c"):
        kept.get(key, build)
    assert kept.get("c", build) == 3
    assert kept.get("a", build) == 4  # dropped for "c", built anew


@pytest.mark.django_db
def test_nothing_is_kept_from_a_transaction_that_wrote_to_the_sources():
    kept = KeptPerDataVersion(4)
    built, build = counter()
    with transaction.atomic():
        bump_data_version()  # a write, not committed yet: what is read now may roll back
        kept.get("key", build)
        kept.get("key", build)
    assert built == [1, 2]
