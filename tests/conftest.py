"""Shared fixtures: a small organisation tree and the four personas of STYLE.md.

``committee`` (department staff's committee) has two grassroots branches, ``branch_a`` and
``branch_b``; ``secretary_a`` keeps branch A, ``secretary_b`` is the outsider from branch B.

Security defaults in tests (issue 8):
- Two-factor authentication is OFF in every test (autouse ``_two_factor_off``: ``OTP_REQUIRED_ROLES=()``),
  so ``client.force_login(department)`` reaches the page. Tests of 2FA itself turn it on with the
  ``two_factor_required`` fixture (or ``settings.OTP_REQUIRED_ROLES = ("administrator", "department")``).
- HTTPS redirects and secure cookies are off under pytest (``TESTING`` in config/settings.py), so the
  test client and the live server speak plain HTTP; tests/security/test_security_settings.py checks production.
- Login lockout (django-axes) is on; ``client.login()`` (no request) bypasses it, ``force_login`` too.
"""

import datetime
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from branches.choices import OrganizationKind, RoleKey
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    OrganizationFactory,
    RoleAssignmentFactory,
    UserFactory,
)

#: Fixtures of module scope that build a module's shared data (seconds each): their tests go to one
#: xdist worker (``--dist loadgroup``), so that the data is built once, not once per worker.
MODULE_DATA_FIXTURES = ("demo", "histories")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` (a real streaming replica, tests/config/test_replica.py) are part of the
    PostgreSQL run only: on SQLite they are deselected, neither run nor reported as skipped. Tests of
    :data:`MODULE_DATA_FIXTURES` are grouped by module."""
    from django.conf import settings

    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in MODULE_DATA_FIXTURES):
            if not item.get_closest_marker("xdist_group"):
                item.add_marker(pytest.mark.xdist_group(item.module.__name__))

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashers cost ~0.3 s per password; the suite creates hundreds of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: nothing cached from another test's data (a dashboard's
    figures, the standing counts' choice of plan) changes what a test reads or how many queries it makes;
    nor a page's fragment rendered under another test's settings."""
    from django.core.cache import cache, caches

    for emptied in (cache, caches["template_fragments"]):
        emptied.clear()
    yield
    for emptied in (cache, caches["template_fragments"]):
        emptied.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: Django's LocaleMiddleware leaves the last
    request's language active in the thread, so a page requested in English by one test would
    otherwise translate what the next test reads."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _two_factor_off(settings):
    settings.OTP_REQUIRED_ROLES = ()


@pytest.fixture(autouse=True)
def _rollups_stay_exact(request):
    """After every test that wrote a record the reports' roll-ups count, the roll-ups equal a full
    recount (``verify_rollups``): an event forgotten by a service, a bulk writer or a factory
    fails the test that wrote without it, on whichever database the suite runs.

    "Wrote": a domain event was published, or a source row was saved or deleted (test-only
    signal receivers, so that a direct ``save()`` that announces nothing is caught too). The check
    runs before the test's transaction is rolled back (the database fixture is requested first,
    so it is torn down after this one); tests that wrote nothing cost nothing.
    """
    names = request.fixturenames
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names:
        request.getfixturevalue("db")
    elif not request.node.get_closest_marker("django_db"):
        yield
        return
    from django.db.models.signals import post_delete, post_save

    from branches.models import Member, Organization
    from core import events
    from enterprises.models import Enterprise, MassOrganization, MembershipReturn
    from reports import rollups

    wrote = []

    def written(*args, **kwargs):
        wrote.append(True)

    sources = (Organization, Member, Enterprise, MassOrganization, MembershipReturn)
    events.subscribe(events.Event, written)
    for model in sources:
        post_save.connect(written, sender=model, weak=False, dispatch_uid=f"test-wrote-{model.__name__}")
        post_delete.connect(written, sender=model, weak=False, dispatch_uid=f"test-deleted-{model.__name__}")
    try:
        yield
    finally:
        events.unsubscribe(events.Event, written)
        for model in sources:
            post_save.disconnect(sender=model, dispatch_uid=f"test-wrote-{model.__name__}")
            post_delete.disconnect(sender=model, dispatch_uid=f"test-deleted-{model.__name__}")
    if wrote and not request.node.get_closest_marker("rollups_differ"):
        count, details = rollups.differences()
        assert count == 0, (
            f"the roll-ups differ from a recount after this test (org, month, metric, stored, exact): {details}"
        )


@pytest.fixture(autouse=True)
def files_dir(settings, tmp_path):
    """Uploads and task results go to a folder of the test (``STORAGES["files"]``); returns it."""
    folder = tmp_path / "files"
    settings.STORAGES = {
        **settings.STORAGES,
        "files": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}},
    }
    return folder


@pytest.fixture
def two_factor_required(settings):
    """Two-factor authentication as in production: required for administrators and department staff."""
    settings.OTP_REQUIRED_ROLES = ("administrator", "department")


def make_tree():
    """The organisation tree of the ``tree`` fixture (for module-scoped data, see ``kept_for_the_module``)."""
    province = LocalityFactory(code="01", name="Hà Nội")
    commune = LocalityFactory(code="00001", name="Phường Cầu Giấy", kind="ward", parent=province)
    city = OrganizationFactory(code="CITY", name="Thành ủy", locality=province)
    committee = OrganizationFactory(code="DIST", name="Đảng ủy Khối doanh nghiệp", locality=province, parent=city)
    enterprise_a = EnterpriseFactory(name="Công ty Cổ phần An Phát", locality=commune, managing_committee=committee)
    enterprise_b = EnterpriseFactory(name="Công ty TNHH Bình Minh", locality=commune, managing_committee=committee)
    branch_a = OrganizationFactory(
        code="BR-A",
        name="Chi bộ Công ty An Phát",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=commune,
        enterprise=enterprise_a,
        parent=committee,
    )
    branch_b = OrganizationFactory(
        code="BR-B",
        name="Chi bộ Công ty Bình Minh",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=commune,
        enterprise=enterprise_b,
        parent=committee,
    )
    # Enterprises are recorded with the committee as managing committee; branches sit in them.
    return SimpleNamespace(
        province=province,
        commune=commune,
        city=city,
        committee=committee,
        branch_a=branch_a,
        branch_b=branch_b,
        enterprise_a=enterprise_a,
        enterprise_b=enterprise_b,
        day=datetime.date(2024, 6, 1),
    )


@pytest.fixture
def tree(db):
    return make_tree()


def _persona(username, role, organization):
    user = UserFactory(username=username)
    RoleAssignmentFactory(user=user, role=role, organization=organization)
    return user


@pytest.fixture
def secretary_a(tree):
    return _persona("secretary_a", RoleKey.SECRETARY, tree.branch_a)


@pytest.fixture
def secretary_b(tree):
    return _persona("secretary_b", RoleKey.SECRETARY, tree.branch_b)


@pytest.fixture
def department(tree):
    return _persona("department", RoleKey.DEPARTMENT, tree.committee)


def make_administrator():
    user = UserFactory(username="administrator")
    RoleAssignmentFactory(user=user, role=RoleKey.ADMINISTRATOR, organization=None)
    return user


@pytest.fixture
def administrator(db):
    return make_administrator()


@contextmanager
def kept_for_the_module(django_db_blocker):
    """A transaction holding a module's shared data, rolled back when the module ends: a fixture of
    module scope builds its data inside (``django_db_blocker.unblock()``), then yields it. Its tests
    need a plain ``@pytest.mark.django_db`` and should only read (each runs in a savepoint rolled back
    after it), and must not request ``tree`` or ``administrator`` themselves (the data holds them)."""
    from django.db import transaction

    with django_db_blocker.unblock():
        kept = transaction.atomic()
        kept.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            kept.__exit__(None, None, None)


@pytest.fixture
def personas(secretary_a, secretary_b, department, administrator):
    return SimpleNamespace(
        secretary_a=secretary_a, secretary_b=secretary_b, department=department, administrator=administrator
    )


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data of ``manage.py load_demo``, loaded once per test module and removed after it.

    The load runs inside a transaction that is rolled back when the module ends, so the tests that
    follow find the database as it was. Returns a namespace: the organisations ``hn``, ``qn``,
    ``uong_bi`` (QN-UB), ``cam_pha`` (QN-CP), ``cai_lan`` (QN-HL-CAILAN), ``hong_ha`` (HN-CG-HONGHA,
    the demo secretary's branch); the demo users ``secretary``, ``department`` (of HN),
    ``administrator``, ``qn_department`` (of QN); ``passwords`` (username → password).

    Tests that use it need a plain ``@pytest.mark.django_db`` (not ``transaction=True``, which would
    wipe the data) and should only read: each test runs in a savepoint rolled back after it, so a
    write does not leak, but the data is shared by the whole module. Do not combine it with the
    ``tree`` fixture (both create the locality "01")::

        @pytest.mark.django_db
        def test_hanoi_admitted_1024_members_in_2024(demo):
            report = fulfilment(demo.hn, 2024)
            assert report.row(Metric.MEMBERS_ADMITTED).actual == 1024
    """
    import io

    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from devdata.demo import key_objects

    with kept_for_the_module(django_db_blocker):
        with django_db_blocker.unblock():
            # The demo passwords are hashed as the tests hash them (``_fast_password_hashing``), so
            # ``client.login(username=..., password=demo.passwords[...])`` works in any test.
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                call_command("load_demo", stdout=io.StringIO())
            # Check the deferred foreign keys of the load now, once, rather than in every test's teardown.
            connection.check_constraints()
            objects = key_objects()
        yield objects


#: Dead rows a table may hold before the suite vacuums it (PostgreSQL only, see below).
DEAD_ROWS_BEFORE_VACUUM = 5000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """On PostgreSQL, vacuum the tables a test's rolled-back writes left full of dead rows.

    Every test's writes are rolled back, and a rolled-back row stays in its table as a dead row
    until a vacuum. A server without autovacuum (the CI machine's) would otherwise keep them all
    run long: after the demo and golden loads, every full scan (the roll-ups' end-of-test check,
    the recounts) reads through millions of dead rows, and small tests took seconds each. Runs
    between tests, outside any transaction (not while a module's data, such as ``demo``, is loaded).
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql" or connection.in_atomic_block or connection.connection is None:
        return
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(relname) FROM pg_stat_user_tables WHERE n_dead_tup > %s",
            [DEAD_ROWS_BEFORE_VACUUM],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"VACUUM {table}")
