"""The benchmark of issue 7 (run it as ``bench/run [--quick]``).

Builds (or reuses) the national dataset on PostgreSQL, then, in one process, takes the median
of repeated runs of the reports, the pages and an import, each with its query count, and the
SQL floor of the fulfilment report (one hand-written query over the raw tables). The last line
is ``fulfilment_root_vs_sql=<engine median / floor median>``.

Databases: ``scale`` (full size) or ``scale_quick`` (a tenth) on postgres://postgres@127.0.0.1:5432,
or BENCH_DATABASE_URL. Pieces that are missing print ``<name>=unavailable (<why>)``.
"""

import argparse
import csv
import gc
import io
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = "postgres://postgres@127.0.0.1:5432"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="A tenth of the data (database scale_quick).")
    parser.add_argument("--regenerate", action="store_true", help="Rebuild the dataset even if present.")
    parser.add_argument("--repeat", type=int, default=None, help="Runs per figure (default 7, quick 5).")
    parser.add_argument("--import-rows", type=int, default=100_000, help="Rows of the member import.")
    parser.add_argument(
        "--import-repeat",
        type=int,
        default=3,
        help="Runs of the import (default 3): its time rests on the disk (write-ahead log, checkpoints) more than "
        "any other figure, and a single run can be off by half.",
    )
    parser.add_argument(
        "--plan-organizations",
        type=int,
        default=None,
        help="Organisations moved by the restructuring plan that is previewed and committed (default 10,000; "
        "quick 1,000). The commit runs inside a transaction rolled back afterwards.",
    )
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--export-child", default="", help=argparse.SUPPRESS)  # kind:format, see export_in_child
    parser.add_argument("--only", default="", help="Only the figures whose names start with these (a,b,…).")
    parser.add_argument(
        "--slow-seconds", type=float, default=5.0, help="A figure whose first run takes longer is not repeated."
    )
    return parser.parse_args()


def prepare_environment(args):
    database = "scale_quick" if args.quick else "scale"
    url = os.environ.get("BENCH_DATABASE_URL") or f"{SERVER}/{database}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The test client speaks plain HTTP, and the benchmark user has no TOTP device:
    # the documented switches of config/settings.py (DJANGO_TESTING, OTP_REQUIRED=0).
    os.environ.setdefault("DJANGO_TESTING", "1")
    os.environ.setdefault("OTP_REQUIRED", "0")
    os.environ.setdefault("DEBUG", "0")
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"# created database {name}")
    return url


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def ensure_dataset(args):
    from django.core.management import call_command

    from branches.models import Member, Organization
    from reports import rollups
    from reports.models import Rollup, StandingCount

    if args.regenerate or not Organization.objects.filter(code="TW").exists():
        print("# generating the dataset" + (" (a tenth)" if args.quick else ""), flush=True)
        started = time.monotonic()
        extra = ["--scale", "0.1"] if args.quick else []
        call_command("generate_scale", "--reset", *extra, stdout=io.StringIO())
        print(f"generate_scale_seconds={time.monotonic() - started:.1f}")
    elif not Rollup.objects.exists() or not StandingCount.objects.exists():
        print("# rebuilding the roll-ups and standing counts of an existing dataset", flush=True)
        rollups.rebuild()
    print(f"# dataset: {Member.objects.count():,} members, {Organization.objects.count():,} organisations")


# Measuring ---------------------------------------------------------------------------------


class Bench:
    def __init__(self, repeat, slow_ms=5000, only=()):
        self.repeat = repeat
        self.only = tuple(only)
        self.slow_ms = slow_ms
        self.results = {}

    def measure(self, name, fn, repeat=None, warmup=1, after=None):
        """The median of ``fn``'s runs in ms; ``after`` runs after each run, untimed."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if self.only and not name.startswith(self.only):
            return None
        try:
            times, queries = [], []
            for _ in range(warmup):
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as captured:
                    fn()
                elapsed = (time.perf_counter() - started) * 1000
                if after:
                    after()
                if elapsed > self.slow_ms:
                    # Too slow to repeat within the run's time: the single (warm-up) run is the figure.
                    times.append(elapsed)
                    queries.append(len(captured.captured_queries))
            for _ in range(0 if times else (repeat or self.repeat)):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    fn()
                    times.append((time.perf_counter() - started) * 1000)
                queries.append(len(captured.captured_queries))
                if after:
                    after()
        except Unavailable as exc:
            print(f"{name}=unavailable ({exc})", flush=True)
            return None
        except Exception as exc:  # a missing piece must not stop the other figures
            print(f"{name}=unavailable ({type(exc).__name__}: {str(exc).splitlines()[0][:150]})", flush=True)
            if os.environ.get("BENCH_DEBUG"):
                traceback.print_exc()
            return None
        median = statistics.median(times)
        self.results[name] = median
        spread = f"min {min(times):.1f}, max {max(times):.1f}"
        print(f"{name}={median:.1f} ms ({max(queries)} queries; {spread}; n={len(times)})", flush=True)
        return median


class Unavailable(Exception):
    pass


def http_get(client, url, expect=200):
    response = client.get(url, secure=False)
    if response.status_code == 404 and expect == 200:
        raise Unavailable(f"GET {url} answered 404")
    if response.status_code != expect:
        raise Unavailable(f"GET {url} answered {response.status_code}")
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response


# Subjects ----------------------------------------------------------------------------------


def pick_subjects():
    from django.db.models import Count

    from branches.choices import OrganizationKind
    from branches.models import Member, Organization

    root = Organization.objects.get(code="TW")
    province = Organization.objects.get(code="P01")
    # The commune committee of Hà Nội with the most grassroots organisations below it.
    commune = (
        Organization.objects.filter(path__startswith=province.path, depth=3)
        .exclude(code__endswith="-DN")
        .annotate(n=Count("pk"))
        .order_by("-numchild", "path")
        .first()
    )
    branch = (
        Organization.objects.filter(kind=OrganizationKind.GRASSROOTS_BRANCH, dissolved_on__isnull=True)
        .filter(path__startswith=commune.path)
        .order_by("-numchild", "path")
        .first()
    )
    member = Member.objects.filter(organization=branch).order_by("pk").first() or Member.objects.order_by("pk").first()
    return root, province, commune, branch, member


def user_for(username, role, organization):
    from django.contrib.auth import get_user_model

    from branches.models import RoleAssignment
    from branches.services import grant_role

    user, _created = get_user_model().objects.get_or_create(username=username)
    if role == "superuser":
        if not user.is_superuser:
            user.is_superuser = user.is_staff = True
            user.save()
        return user
    if not RoleAssignment.objects.filter(user=user, role=role, organization=organization).exists():
        grant_role(None, user=user, role=role, organization=organization)
    return user


def logged_in(user):
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(user)
    return client


# The SQL floor -----------------------------------------------------------------------------

FLOOR_SQL = """
WITH scope AS (SELECT %(path)s::text AS path, %(depth)s::int AS depth),
events AS (
    SELECT substr(o.path, 1, (s.depth + 1) * 4) AS child, 'party_orgs_established' AS metric, count(*) AS n
    FROM branches_organization o, scope s
    WHERE o.path LIKE s.path || '%%' AND o.kind IN ('grassroots_committee', 'grassroots_branch', 'subordinate_branch')
      AND o.established_on BETWEEN %(start)s AND %(end)s
    GROUP BY 1
    UNION ALL
    SELECT substr(o.path, 1, (s.depth + 1) * 4), x.metric, sum(x.n)
    FROM (SELECT admitted_by_id, count(*) AS admitted, count(*) FILTER (WHERE owner_at_admission) AS owners
          FROM branches_member WHERE admitted_on BETWEEN %(start)s AND %(end)s GROUP BY admitted_by_id) m
    JOIN branches_organization o ON o.id = m.admitted_by_id
    CROSS JOIN scope s
    CROSS JOIN LATERAL (VALUES ('members_admitted', m.admitted), ('owners_admitted', m.owners)) x(metric, n)
    WHERE o.path LIKE s.path || '%%'
    GROUP BY 1, 2
    UNION ALL
    SELECT substr(c.path, 1, (s.depth + 1) * 4), x.metric, sum(x.n)
    FROM (SELECT e.managing_committee_id AS committee, count(*) AS total,
                 count(*) FILTER (WHERE mo.kind = 'trade_union') AS trade,
                 count(*) FILTER (WHERE mo.kind = 'youth_union') AS youth
          FROM enterprises_massorganization mo JOIN enterprises_enterprise e ON e.id = mo.enterprise_id
          WHERE mo.established_on BETWEEN %(start)s AND %(end)s GROUP BY 1) g
    JOIN branches_organization c ON c.id = g.committee
    CROSS JOIN scope s
    CROSS JOIN LATERAL (VALUES ('mass_orgs_established', g.total), ('trade_unions_established', g.trade),
                               ('youth_unions_established', g.youth)) x(metric, n)
    WHERE c.path LIKE s.path || '%%'
    GROUP BY 1, 2
    UNION ALL
    SELECT substr(c.path, 1, (s.depth + 1) * 4), x.metric, sum(x.n)
    FROM (SELECT e.managing_committee_id AS committee, sum(r.members_admitted) AS total,
                 sum(r.members_admitted) FILTER (WHERE mo.kind = 'trade_union') AS trade,
                 sum(r.members_admitted) FILTER (WHERE mo.kind = 'youth_union') AS youth
          FROM enterprises_membershipreturn r
          JOIN enterprises_massorganization mo ON mo.id = r.mass_organization_id
          JOIN enterprises_enterprise e ON e.id = mo.enterprise_id
          WHERE r.date BETWEEN %(start)s AND %(end)s GROUP BY 1) g
    JOIN branches_organization c ON c.id = g.committee
    CROSS JOIN scope s
    CROSS JOIN LATERAL (VALUES ('mass_org_members_admitted', g.total), ('trade_union_members_admitted', g.trade),
                               ('youth_union_members_admitted', g.youth)) x(metric, n)
    WHERE c.path LIKE s.path || '%%'
    GROUP BY 1, 2
)
SELECT child, metric, sum(n) FROM events GROUP BY child, metric
"""


def sql_floor(organization, start, end):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, {"path": organization.path, "depth": organization.depth, "start": start, "end": end})
        return cursor.fetchall()


def check_floor_matches_engine(report, rows, organization):
    """The floor must compute the same numbers as the engine (otherwise the comparison is void)."""
    totals, children = {}, {}
    for child, metric, n in rows:
        n = int(n or 0)
        totals[metric] = totals.get(metric, 0) + n
        children.setdefault(child, {})[metric] = children.get(child, {}).get(metric, 0) + n
    for row in report.rows:
        if totals.get(str(row.metric), 0) != row.actual:
            return f"{row.metric}: engine {row.actual}, floor {totals.get(str(row.metric), 0)}"
    for part in report.children:
        for row in part.rows:
            floor = children.get(part.organization.path, {}).get(str(row.metric), 0)
            if floor != row.actual:
                return f"{part.organization.code} {row.metric}: engine {row.actual}, floor {floor}"
    return None


# Structure and gaps floors: one hand-written query each over the raw tables, the report's totals.

STRUCTURE_FLOOR_SQL = """
WITH orgs AS (
    SELECT
        count(*) FILTER (WHERE kind IN ('grassroots_committee', 'grassroots_branch', 'subordinate_branch')),
        count(*) FILTER (WHERE kind = 'grassroots_committee'),
        count(*) FILTER (WHERE kind IN ('grassroots_branch', 'subordinate_branch')),
        count(*) FILTER (WHERE kind = 'grassroots_branch'),
        count(*) FILTER (WHERE kind = 'subordinate_branch')
    FROM branches_organization
    WHERE path LIKE %(path)s AND established_on <= %(date)s AND (dissolved_on IS NULL OR dissolved_on > %(date)s)
), members AS (
    SELECT count(*), count(*) FILTER (WHERE m.is_business_owner),
        count(DISTINCT p.organization_id) FILTER (WHERE m.is_business_owner)
    FROM branches_membershipperiod p
    JOIN branches_organization o ON o.id = p.organization_id
    JOIN branches_member m ON m.id = p.member_id
    WHERE o.path LIKE %(path)s AND p.started_on <= %(date)s AND (p.ended_on IS NULL OR p.ended_on > %(date)s)
), enterprises AS (
    SELECT count(*), count(*) FILTER (WHERE e.operating_status = 'operating')
    FROM enterprises_enterprise e JOIN branches_organization c ON c.id = e.managing_committee_id
    WHERE c.path LIKE %(path)s
), mass AS (
    SELECT count(*), count(*) FILTER (WHERE mo.kind = 'trade_union'), count(*) FILTER (WHERE mo.kind = 'youth_union'),
        coalesce(sum(latest.members_total), 0)
    FROM enterprises_massorganization mo
    JOIN enterprises_enterprise e ON e.id = mo.enterprise_id
    JOIN branches_organization c ON c.id = e.managing_committee_id
    LEFT JOIN LATERAL (
        SELECT r.members_total FROM enterprises_membershipreturn r
        WHERE r.mass_organization_id = mo.id AND r.date <= %(date)s ORDER BY r.date DESC LIMIT 1
    ) latest ON true
    WHERE c.path LIKE %(path)s AND mo.established_on <= %(date)s
        AND (mo.dissolved_on IS NULL OR mo.dissolved_on > %(date)s)
)
SELECT * FROM orgs, members, enterprises, mass
"""
STRUCTURE_FLOOR_FIGURES = (
    "party_organizations",
    "grassroots_committees",
    "branches",
    "grassroots_branches",
    "subordinate_branches",
    "members",
    "business_owners",
    "organizations_with_owners",
    "enterprises",
    "enterprises_operating",
    "mass_organizations",
    "trade_unions",
    "youth_unions",
    "mass_organization_members",
)

GAPS_FLOOR_SQL = """
WITH working AS (
    SELECT m.enterprise_id, count(*) AS members, count(*) FILTER (WHERE m.official_on <= %(date)s) AS official
    FROM branches_membershipperiod p JOIN branches_member m ON m.id = p.member_id
    WHERE m.enterprise_id IS NOT NULL AND p.started_on <= %(date)s AND (p.ended_on IS NULL OR p.ended_on > %(date)s)
    GROUP BY m.enterprise_id
), organized AS (
    SELECT DISTINCT enterprise_id FROM branches_organization
    WHERE enterprise_id IS NOT NULL AND established_on <= %(date)s AND (dissolved_on IS NULL OR dissolved_on > %(date)s)
), unions AS (
    SELECT DISTINCT enterprise_id FROM enterprises_massorganization
    WHERE kind = 'trade_union' AND established_on <= %(date)s AND (dissolved_on IS NULL OR dissolved_on > %(date)s)
), gaps AS (
    SELECT count(*) FILTER (WHERE w.official >= 3 AND g.enterprise_id IS NULL),
        count(*) FILTER (WHERE w.members BETWEEN 1 AND 2 AND g.enterprise_id IS NULL)
    FROM working w JOIN enterprises_enterprise e ON e.id = w.enterprise_id
    JOIN branches_organization c ON c.id = e.managing_committee_id
    LEFT JOIN organized g ON g.enterprise_id = e.id
    WHERE c.path LIKE %(path)s
), share AS (
    SELECT count(u.enterprise_id), count(*)
    FROM enterprises_enterprise e JOIN branches_organization c ON c.id = e.managing_committee_id
    LEFT JOIN unions u ON u.enterprise_id = e.id
    WHERE c.path LIKE %(path)s AND e.operating_status = 'operating'
), admitting AS (
    SELECT DISTINCT a.path FROM branches_member m JOIN branches_organization a ON a.id = m.admitted_by_id
    WHERE m.admitted_on > %(window)s AND m.admitted_on <= %(date)s
), stagnant AS (
    SELECT count(*) FROM branches_organization o
    WHERE o.path LIKE %(path)s AND o.kind IN ('grassroots_committee', 'grassroots_branch', 'subordinate_branch')
        AND o.established_on <= %(window)s AND (o.dissolved_on IS NULL OR o.dissolved_on > %(date)s)
        AND NOT EXISTS (SELECT 1 FROM admitting r WHERE r.path LIKE o.path || '%%')
)
SELECT * FROM gaps, stagnant, share
"""
GAPS_FLOOR_FIGURES = (
    "eligible_enterprises",
    "enterprises_with_one_or_two_members",
    "stagnant_organizations",
    "trade_union_share",
    "operating",
)


def figures_floor(sql, names, organization, date):
    """The totals of a structure or gaps floor: ``{figure: n}``."""
    from django.db import connection

    from core.dates import add_years

    params = {"path": organization.path + "%", "date": date, "window": add_years(date, -3)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {name: int(value or 0) for name, value in zip(names, cursor.fetchone(), strict=True)}


def check_figures_floor(report, floor):
    """The floor must compute the report's totals (otherwise the comparison is void)."""
    for row in report.rows:
        if floor.get(row.metric) != row.value:
            return f"{row.metric}: engine {row.value}, floor {floor.get(row.metric)}"
        if row.total is not None and floor.get("operating") != row.total:
            return f"{row.metric} of: engine {row.total}, floor {floor.get('operating')}"
    return None


# The import --------------------------------------------------------------------------------


def import_file(rows, commune):
    """A CSV of ``rows`` new members admitted into the active branches below ``commune``."""
    import datetime
    import random

    from django.utils import translation

    from branches.choices import GRASSROOTS_KINDS, Sex
    from branches.models import Organization
    from dataio.imports import MEMBER_COLUMNS

    rng = random.Random(11)
    branches = list(
        Organization.objects.filter(
            path__startswith=commune.path,
            kind__in=GRASSROOTS_KINDS,
            dissolved_on__isnull=True,
            established_on__lte=datetime.date(2020, 12, 31),
        )
        .exclude(kind="grassroots_committee")
        .values_list("code", flat=True)
    )
    if not branches:
        raise Unavailable(f"no active branch under {commune.code}")
    with translation.override("en"):
        headers = [str(c.header) for c in MEMBER_COLUMNS]
        keys = [c.key for c in MEMBER_COLUMNS]
        sexes = [str(Sex.MALE.label), str(Sex.FEMALE.label)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for i in range(rows):
        admitted = datetime.date(2021, 1, 1) + datetime.timedelta(days=rng.randint(0, 1500))
        values = {
            "citizen_id": f"999{i:09d}",
            "full_name": f"Nguyễn Văn Nhập {i}",
            "sex": sexes[i % 2],
            "date_of_birth": (admitted - datetime.timedelta(days=rng.randint(7000, 15000))).isoformat(),
            "party_card_number": f"IMP{i:09d}",
            "organization": rng.choice(branches),
            "admitted_on": admitted.isoformat(),
        }
        writer.writerow([values.get(key, "") for key in keys])
    return out.getvalue().encode("utf-8")


def run_import(data, commune, admin, timers=None, server_cpu=None):
    """Import ``data`` and roll it back; the phases' times (a ``PhaseTimer``, with the meter
    ``server_cpu`` when given, see :func:`server_cpu_meter`) are appended to ``timers``. The phase
    ``other`` is the import's time that none of its phases holds (its permission check, the cyclic
    collector's pass once the import lets it run again), so that the phases add up to the whole."""
    from django.db import connection, transaction
    from django.utils import translation

    from core.timing import PhaseTimer
    from dataio.imports import import_members

    timer = PhaseTimer(meters={"server_cpu_ms": server_cpu} if server_cpu else None)
    with translation.override("en"), transaction.atomic():
        with timer.phase("other"):
            result = import_members(data, organization=commune, acting_user=admin, filename="bench.csv", timer=timer)
        if result.has_errors:
            first = next((row for row in result.rows if getattr(row, "errors", None)), None)
            raise Unavailable(f"the import refused rows, e.g. {getattr(first, 'errors', '?')}")
        with timer.phase("constraints"), connection.cursor() as cursor:
            # What the commit would check (the deferred foreign keys), checked now and timed: the
            # foreign keys of the tables an import writes one by one, then the rest.
            for name, phase in import_foreign_keys(cursor):
                with timer.phase(phase):
                    cursor.execute(f"SET CONSTRAINTS {connection.ops.quote_name(name)} IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        transaction.set_rollback(True)  # measure the whole write, keep the dataset as it was
    if timers is not None:
        timers.append(timer)
    return result


IMPORT_TABLES = (
    "branches_member",
    "branches_membershipperiod",
    "branches_historicalmember",
    "branches_historicalmembershipperiod",
)


def import_foreign_keys(cursor):
    """``(constraint name, phase name)`` of the deferred foreign keys of the tables a members
    import writes; the phase is ``fk_<table>_<column>``."""
    cursor.execute(
        "SELECT c.conname, c.conrelid::regclass::text, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.condeferred AND c.conrelid = ANY(%s::regclass[]) ORDER BY 2, 3",
        [list(IMPORT_TABLES)],
    )
    return [(name, f"fk_{table.removeprefix('branches_')}_{column}") for name, table, column in cursor.fetchall()]


def server_cpu_meter(connection):
    """A function returning the CPU milliseconds the database server's process serving
    ``connection`` has used, read from /proc (no query: a COPY may be open); None when that server
    does not run on this machine as a process this one may read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def server_cpu_ms():
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / ticks  # utime + stime (proc(5))

    try:
        server_cpu_ms()
    except (OSError, IndexError, ValueError):
        return None
    return server_cpu_ms


def print_phases(name, timers):
    """The median of each phase over the runs: ``<name>_phase_<phase>=… ms``, with the CPU time of this
    process in it and, where it can be read, the database server's (see :func:`server_cpu_meter`).
    Where the two add up to more than the wall time, Python and the server worked at once."""
    for phase in dict.fromkeys(phase for timer in timers for phase in timer.ms):
        wall = statistics.median(timer.ms.get(phase, 0.0) for timer in timers)
        cpu = statistics.median(timer.cpu_ms.get(phase, 0.0) for timer in timers)
        server = ""
        if all("server_cpu_ms" in timer.metered for timer in timers):
            server_ms = statistics.median(timer.metered["server_cpu_ms"].get(phase, 0.0) for timer in timers)
            server = f"; server CPU {server_ms:.1f} ms"
        print(f"{name}_phase_{phase}={wall:.1f} ms (Python CPU {cpu:.1f} ms{server}; n={len(timers)})", flush=True)


def vacuum_after_import():
    """The rolled-back import leaves dead rows; this server may run without autovacuum."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "branches_member",
            "branches_historicalmember",
            "branches_membershipperiod",
            "branches_historicalmembershipperiod",
            "reports_rollup",
            "reports_standingcount",
            "reports_statisticsfact",
            "reports_statisticsrollup",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


# Exports -----------------------------------------------------------------------------------


def export_in_child(args, kind, file_format):
    """Run an export as its task would, in a process of its own (a fresh worker), and print its
    time and the process's peak resident memory; ``kind:file_format`` as the ``--export-child``
    argument. Everything it writes (the job, the access log entry) is rolled back, its file deleted.
    """
    import resource

    import django

    django.setup()
    from django.db import transaction

    from core import jobs
    from core.models import Job
    from dataio.tasks import _build_export

    root = pick_subjects()[0]
    user = user_for("bench-dept-root", "department", root)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from dataio.exports import export_queryset

    total = export_queryset(kind, user).count()  # counted by the request that starts the task
    # The setup above (the subjects, the user, the count) has its own peak: the export's own is
    # measured from here (Linux: writing 5 to clear_refs resets VmHWM to the current RSS).
    gc.collect()
    reset = _reset_peak_rss()
    at_start = _status_kib("VmRSS")
    with transaction.atomic():
        job = Job.objects.create(
            kind="export",
            owner=user,
            title="bench",
            total=total,
            params={"kind": kind, "format": file_format, "data": {}},
        )
        started = time.perf_counter()
        jobs.run(str(job.pk), _build_export)
        elapsed = time.perf_counter() - started
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED:
            raise SystemExit(f"the export task ended {job.status}: {job.message}")
        size = jobs.files_storage().size(job.result_name)
        jobs.files_storage().delete(job.result_name)
        transaction.set_rollback(True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, since the process began
    export_peak = _status_kib("VmHWM") if reset else peak
    print(
        f"{elapsed * 1000:.1f} {peak / 1024:.1f} {before / 1024:.1f} {total} {size} "
        f"{export_peak / 1024:.1f} {at_start / 1024:.1f} {int(reset)}"
    )


def _status_kib(field):
    """A memory figure of this process from /proc/self/status, in KiB (0 where unavailable)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak_rss():
    """Reset this process's peak resident memory (VmHWM) to its current one; False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") > 0


def plan_file(organizations):
    """A restructuring plan (CSV) moving ``organizations`` grassroots organisations, each from its
    commune-level committee to another of the same province, from today."""
    from django.utils import timezone, translation

    from branches.choices import GRASSROOTS_KINDS
    from branches.models import Organization
    from dataio.restructure import COLUMNS

    committees = {}
    for code, path in Organization.objects.filter(code__contains="-X", dissolved_on__isnull=True).values_list(
        "code", "path"
    ):
        committees.setdefault(path[: 2 * Organization.steplen], []).append((path, code))
    moving = (
        Organization.objects.filter(kind__in=GRASSROOTS_KINDS, dissolved_on__isnull=True, depth=4)
        .order_by("path")
        .values_list("code", "path")[:organizations]
    )
    on = timezone.localdate().strftime("%d/%m/%Y")
    with translation.override("en"):
        lines = [",".join(str(column.label) for column in COLUMNS)]
    for code, path in moving:
        here = path[: 3 * Organization.steplen]
        others = [c for p, c in committees.get(path[: 2 * Organization.steplen], []) if p != here]
        if others:
            lines.append(f"move,{code},{others[0]},,,,,,,{on},BENCH-1,{on}")
    if len(lines) - 1 < organizations:
        raise Unavailable(f"only {len(lines) - 1} organisations can move")
    return "\n".join(lines).encode("utf-8")


def measure_plan(bench, root, admin, organizations):
    """Preview (a dry run) and commit of a plan moving ``organizations`` organisations; the commit
    runs inside a transaction rolled back afterwards, so the dataset stays as it was."""
    import io as bytes_io

    from django.db import transaction
    from django.utils import translation

    from dataio.restructure import run_plan

    try:
        content = plan_file(organizations)
    except Unavailable as exc:
        print(f"restructure_plan=unavailable ({exc})", flush=True)
        return

    def run(dry_run):
        source = bytes_io.BytesIO(content)
        source.name = "bench-plan.csv"
        with translation.override("en"), transaction.atomic():
            result = run_plan(source, acting_user=admin, dry_run=dry_run)
            if result.has_errors:
                raise Unavailable(f"the plan has errors: {result.steps[0].errors[:1]}")
            transaction.set_rollback(True)

    bench.measure(f"restructure_plan_preview_{organizations}", lambda: run(True), repeat=1, warmup=0)
    bench.measure(f"restructure_plan_commit_{organizations}", lambda: run(False), repeat=1, warmup=0)


def measure_export(bench, name, kind, file_format, args):
    """Time and peak memory of exporting every ``kind`` the root's department sees, in a child process."""
    import subprocess

    if bench.only and not name.startswith(bench.only):
        return
    command = [sys.executable, str(Path(__file__).resolve()), "--export-child", f"{kind}:{file_format}"]
    if args.quick:
        command.append("--quick")
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        why = (completed.stderr.strip().splitlines() or ["?"])[-1][:150]
        print(f"{name}=unavailable ({why})", flush=True)
        return
    ms, peak, baseline, rows, size, export_peak, at_start, reset = completed.stdout.split()[-8:]
    bench.results[name] = float(ms)
    own = (
        f"{float(export_peak):.1f} MiB (the export's own peak: {float(at_start):.1f} MiB when it began, "
        f"+{float(export_peak) - float(at_start):.1f} MiB)"
        if reset == "1"
        else "unavailable (no /proc/self/clear_refs)"
    )
    print(
        f"{name}={float(ms):.1f} ms ({int(rows):,} rows, {int(size) / 2**20:.1f} MiB; n=1)\n"
        f"{name}_peak_rss={own}\n"
        f"{name}_process_peak_rss={float(peak):.1f} MiB (the whole child process, with the benchmark's "
        f"setup; {float(baseline):.1f} MiB before the count)",
        flush=True,
    )


# Main --------------------------------------------------------------------------------------


def statistics_agree(statistics, organization, start, end):
    """Whether the statutory forms read from the maintained counts equal the same counted from the
    periods and members themselves (every row and column)."""

    def movement(report):
        return [(row.organization.pk, vars(row) | {"organization": None}) for row in (report.total, *report.children)]

    def admissions(report):
        return [(row.organization.pk, dict(row.counts)) for row in (report.total, *report.children)]

    if movement(statistics.member_movement(organization, start, end)) != movement(
        statistics.sql_member_movement(organization, start, end)
    ):
        return "STATISTICS MISMATCH: movement"
    if admissions(statistics.new_admissions(organization, start, end)) != admissions(
        statistics.sql_new_admissions(organization, start, end)
    ):
        return "STATISTICS MISMATCH: admissions"
    return "movement and admissions from the maintained counts agree with the count from the periods and members"


def projection_mape(organization, last_year):
    """``projection_mape_june``: the on-track projection made on 30 June of each year with data up to
    ``last_year`` against that year's actual at 31 December, as a mean absolute percentage error over
    the metrics with a non-zero year total (None without data)."""
    from branches.models import Member
    from reports.projection import backtest_mape

    first = Member.objects.order_by("admitted_on").values_list("admitted_on", flat=True).first()
    if first is None or first.year > last_year:
        return None
    return backtest_mape(organization, range(first.year, last_year + 1))


def print_projection_mape(organization, last_year):
    started = time.perf_counter()
    mape = projection_mape(organization, last_year)
    took = f"{time.perf_counter() - started:.1f} s"
    if mape is None:
        print(f"projection_mape_june=unavailable (no admissions; {took})", flush=True)
    else:
        print(f"projection_mape_june={mape:.1f}% ({took})", flush=True)
    return mape


def main():
    args = parse_args()
    prepare_environment(args)
    if args.export_child:
        export_in_child(args, *args.export_child.split(":"))
        return
    setup_django()
    ensure_dataset(args)
    repeat = args.repeat or (5 if args.quick else 7)
    only = [prefix for prefix in args.only.split(",") if prefix]
    bench = Bench(repeat, slow_ms=args.slow_seconds * 1000, only=only)
    deep = 50 if args.quick else 500

    import datetime

    from django.core.management import call_command
    from django.db import connection
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone, translation

    translation.activate("vi")
    root, province, commune, branch, member = pick_subjects()
    today = timezone.localdate()
    year = today.year - 1  # the last whole year: every month closed
    print(f"# subjects: root {root.code}, province {province.code}, commune {commune.code}, branch {branch.code}")
    print(f"# year {year}; repeats {repeat}")

    from reports import engine, figures, rollups

    subjects = {"root": root, "province": province, "commune": commune}
    department = {key: user_for(f"bench-dept-{key}", "department", org) for key, org in subjects.items()}
    secretary = user_for("bench-secretary", "secretary", branch)
    admin = user_for("bench-admin", "superuser", None)

    for key, organization in subjects.items():
        bench.measure(f"fulfilment_{key}_engine", lambda o=organization: engine.fulfilment(o, year))
        bench.measure(
            f"fulfilment_{key}_cli",
            lambda o=organization: call_command(
                "report", "fulfilment", "--org", o.code, "--year", str(year), "--format", "json", stdout=io.StringIO()
            ),
        )
        client = logged_in(department[key])
        try:
            url = reverse("reports:fulfilment_export") + f"?organization={organization.code}&year={year}&format=csv"
        except NoReverseMatch:
            url = None
        if url is None:
            print(f"fulfilment_{key}_http=unavailable (no reports:fulfilment_export URL)")
        else:
            bench.measure(f"fulfilment_{key}_http", lambda c=client, u=url: http_get(c, u))
    bench.measure("fulfilment_root_engine_current_year", lambda: engine.fulfilment(root, today.year))

    def fulfilment_after_structure_change():
        rollups.bump_structure_version()  # what a restructuring or a target set does: targets read again
        return engine.fulfilment(root, year)

    bench.measure("fulfilment_root_engine_after_structure_change", fulfilment_after_structure_change)

    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    floor = bench.measure("fulfilment_root_sql_floor", lambda: sql_floor(root, start, end))
    if floor is not None:
        mismatch = check_floor_matches_engine(engine.fulfilment(root, year), sql_floor(root, start, end), root)
        print("# floor and engine agree on every figure" if mismatch is None else f"# FLOOR MISMATCH {mismatch}")

    # The year before, and both years in the historical structure (each event under the ancestors it
    # had that day). The root's rows are the provinces in either structure, so one floor serves both.
    from reports.engine import ReportStructure

    historical = ReportStructure.HISTORICAL
    bench.measure("fulfilment_root_historical_engine", lambda: engine.fulfilment(root, year, structure=historical))

    def historical_after_structure_change():
        rollups.bump_structure_version()  # the trees, the days of change and the targets read again
        return engine.fulfilment(root, year, structure=historical)

    bench.measure(
        "fulfilment_root_historical_engine_after_structure_change", historical_after_structure_change, repeat=1
    )
    before = year - 1
    bench.measure("fulfilment_root_year_before_engine", lambda: engine.fulfilment(root, before))
    bench.measure(
        "fulfilment_root_year_before_historical_engine",
        lambda: engine.fulfilment(root, before, structure=historical),
    )
    first, last = datetime.date(before, 1, 1), datetime.date(before, 12, 31)
    floor = bench.measure("fulfilment_root_year_before_sql_floor", lambda: sql_floor(root, first, last))
    if floor is not None:
        mismatch = check_floor_matches_engine(engine.fulfilment(root, before), sql_floor(root, first, last), root)
        print(f"# {before}: floor and engine agree" if mismatch is None else f"# {before} FLOOR MISMATCH {mismatch}")

    # Structure and gaps at the root today and on a past date, each beside its SQL floor.
    past = datetime.date(today.year - 3, 6, 30)
    for kind, report, sql, names in (
        ("structure", engine.structure, STRUCTURE_FLOOR_SQL, STRUCTURE_FLOOR_FIGURES),
        ("gaps", engine.gaps, GAPS_FLOOR_SQL, GAPS_FLOOR_FIGURES),
    ):
        for suffix, date in (("", today), ("_past", past)):
            name = f"{kind}_root{suffix}"
            bench.measure(f"{name}_engine", lambda r=report, d=date: r(root, d))
            floor = bench.measure(f"{name}_sql_floor", lambda s=sql, n=names, d=date: figures_floor(s, n, root, d))
            if floor is not None:
                mismatch = check_figures_floor(report(root, date), figures_floor(sql, names, root, date))
                agree = f"# {name}: floor and engine agree on {date:%d/%m/%Y}"
                print(agree if mismatch is None else f"# {name} FLOOR MISMATCH on {date:%d/%m/%Y}: {mismatch}")
    if not only or "projection_mape_june".startswith(tuple(only)):
        print_projection_mape(root, year)

    # The statutory forms at the root for the year (movement: form 1-BTCTW; new admissions: 3-BTCTW).
    from reports import statistics

    bench.measure("movement_root_engine", lambda: statistics.member_movement(root, start, end))
    bench.measure("admissions_root_engine", lambda: statistics.new_admissions(root, start, end))
    # From the maintained counts; beside them the same counted from the periods and members themselves.
    bench.measure("movement_root_from_periods", lambda: statistics.sql_member_movement(root, start, end))
    bench.measure("admissions_root_from_members", lambda: statistics.sql_new_admissions(root, start, end))
    before_start, before_end = datetime.date(year - 1, 1, 1), datetime.date(year - 1, 12, 31)
    this_year = datetime.date(today.year, 1, 1)
    bench.measure("movement_root_year_before", lambda: statistics.member_movement(root, before_start, before_end))
    bench.measure("admissions_root_year_before", lambda: statistics.new_admissions(root, before_start, before_end))
    bench.measure("movement_root_up_to_today", lambda: statistics.member_movement(root, this_year, today))
    bench.measure("admissions_root_up_to_today", lambda: statistics.new_admissions(root, this_year, today))
    bench.measure("movement_province_engine", lambda: statistics.member_movement(province, start, end))
    bench.measure("admissions_province_engine", lambda: statistics.new_admissions(province, start, end))
    if bench.only == () or "movement_root_engine".startswith(bench.only):
        print("# " + statistics_agree(statistics, root, start, end), flush=True)

    # The dashboard's card of what is due per province, counted for the root's department staff today
    # (the page keeps it for a few minutes; this is its cost when it is not kept).
    from reports.deadlines import counts_below

    bench.measure("deadline_counts_root", lambda: counts_below(root, today, department["root"]))

    # Pages, as department staff of the root (the largest lists) and of the province.
    client = logged_in(department["root"])
    try:
        members_url = reverse("branches:member_list")
        bench.measure("member_list_first_page", lambda: http_get(client, members_url))
        bench.measure(
            "member_list_filtered_page",
            lambda: http_get(client, members_url + "?status=active&is_business_owner=true"),
        )
        bench.measure("member_list_deep_page", lambda: http_get(client, members_url + "?page=2000"))
        # Typed without marks or case, as most people type: a common name and a rare one.
        bench.measure("member_search_first_page", lambda: http_get(client, members_url + "?q=nguyen+van"))
        bench.measure("member_search_rare_first_page", lambda: http_get(client, members_url + "?q=do+thi+hang"))
        province_client = logged_in(department["province"])
        bench.measure("member_list_province_first_page", lambda: http_get(province_client, members_url))
    except NoReverseMatch:
        print("member_list=unavailable (no branches:member_list URL)")
    try:
        detail_url = reverse("branches:member_detail", args=[member.pk])
        secretary_client = logged_in(secretary)
        bench.measure("member_detail_page", lambda: http_get(secretary_client, detail_url))
    except NoReverseMatch:
        print("member_detail_page=unavailable (no branches:member_detail URL)")
    for name, url_name in (
        ("organization_list_page", "branches:organization_list"),
        ("enterprise_list_page", "enterprises:enterprise_list"),
        ("massorganization_list_page", "enterprises:massorganization_list"),
    ):
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            print(f"{name}=unavailable (no {url_name} URL)")
            continue
        bench.measure(name, lambda u=url: http_get(client, u))
        bench.measure(name.replace("_page", "_deep_page"), lambda u=url: http_get(client, u + f"?page={deep}"))
    tree_url = reverse("branches:organization_tree")
    bench.measure("organization_tree_page", lambda: http_get(client, tree_url))
    past_tree_url = tree_url + f"?as_of={past:%d/%m/%Y}"
    bench.measure("organization_tree_past_page", lambda: http_get(client, past_tree_url))

    def past_tree_after_structure_change():
        rollups.bump_structure_version()  # what a move or a renaming does: the order of that date read again
        return http_get(client, past_tree_url)

    bench.measure("organization_tree_past_page_after_structure_change", past_tree_after_structure_change)
    try:
        dashboard_url = reverse("reports:dashboard")
        bench.measure("dashboard_root_page", lambda: http_get(client, dashboard_url + f"?year={year}"))
        # What department staff land on: this year up to today.
        bench.measure("dashboard_root_landing_page", lambda: http_get(client, dashboard_url))

        def after_write():
            rollups.bump_data_version()  # what any write does: structure and gaps are counted again
            return http_get(client, dashboard_url + f"?year={year}")

        bench.measure("dashboard_root_page_after_write", after_write)
        bench.measure("dashboard_root_recount", lambda: figures.count(root, datetime.date(year, 12, 31)))
        bench.measure(
            "dashboard_province_page",
            lambda: http_get(province_client, dashboard_url + f"?year={year}"),
        )
    except NoReverseMatch:
        print("dashboard_page=unavailable (no reports:dashboard URL)")

    if not only or any(prefix.startswith("restructure") or "restructure".startswith(prefix) for prefix in only):
        measure_plan(bench, root, admin, args.plan_organizations or (1_000 if args.quick else 10_000))

    if not args.skip_import and (not only or "import" in only):
        rows = args.import_rows
        try:
            data = import_file(rows, commune)
            server_cpu = server_cpu_meter(connection)  # its query kept out of the import's count
            timers = []
            name = f"import_{rows}_members"
            bench.measure(
                name,
                lambda: run_import(data, commune, admin, timers, server_cpu),
                repeat=args.import_repeat,
                warmup=0,
                after=vacuum_after_import,
            )
            if timers:
                print_phases(name, timers)
        except Unavailable as exc:
            print(f"import_{rows}_members=unavailable ({exc})")
        except ImportError as exc:
            print(f"import_{rows}_members=unavailable ({exc})")

    if not args.skip_export:
        for kind in ("members", "enterprises", "organizations"):
            for file_format in ("csv", "xlsx"):
                measure_export(bench, f"export_root_{kind}_{file_format}", kind, file_format, args)

    engine_root = bench.results.get("fulfilment_root_engine")
    floor_root = bench.results.get("fulfilment_root_sql_floor")
    if engine_root is not None and floor_root:
        print(f"fulfilment_root_vs_sql={engine_root / floor_root:.3f}")
    else:
        print("fulfilment_root_vs_sql=unavailable (engine or floor not measured)")
    for name, floor_name in (
        ("fulfilment_root_historical", "fulfilment_root"),
        ("fulfilment_root_year_before", "fulfilment_root_year_before"),
        ("fulfilment_root_year_before_historical", "fulfilment_root_year_before"),
    ):
        engine_ms, floor_ms = bench.results.get(f"{name}_engine"), bench.results.get(f"{floor_name}_sql_floor")
        if engine_ms is not None and floor_ms:
            print(f"{name}_vs_sql={engine_ms / floor_ms:.3f}")
    for name in ("structure_root", "structure_root_past", "gaps_root", "gaps_root_past"):
        engine_ms, floor_ms = bench.results.get(f"{name}_engine"), bench.results.get(f"{name}_sql_floor")
        if engine_ms is not None and floor_ms:
            print(f"{name}_vs_sql={engine_ms / floor_ms:.3f}")


if __name__ == "__main__":
    main()
