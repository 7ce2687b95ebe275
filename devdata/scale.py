"""A national-size synthetic dataset for measuring the application (issue 7).

Vietnam's 34 provinces and 3,321 communes (the two-tier map of July 2025); a national root
committee, province committees, a bloc committee of enterprises per province and, until 30 June
2025, district-level committees below them; grassroots committees with subordinate branches,
grassroots branches; skewed enterprise sizes (lognormal), a few big provinces and many small
districts (Zipf), admissions spread over the years, transfers, dissolved branches whose members
move to their places of residence, mass organisations with several returns, and yearly targets
for every committee.

The data goes through the reform of 1 July 2025 (:data:`REFORM`, Quy định 294-QĐ/TW) as the demo
does (``devdata/demo.py``, ``Builder.reform``): the district committees end that day (split), a few
commune-level committees per former district begin directly under the province, the district's
organisations active that day are below them from then on (those founded later are founded there),
its enterprises pass to the commune committee of their organisation, and its targets of 2025 are
carried to the successors (those of later years are set on them). The dated history is written as
``OrganizationVersion``, ``ManagingCommitteePeriod`` and ``TargetCarry`` rows; every figure before
the reform is the same as without it (``Generator(reform=False)``: no district ever ends).

Rows are generated in memory and written with PostgreSQL ``COPY`` (psycopg 3), in one
transaction, so an interrupted run leaves nothing behind. Treebeard paths (steplen 4, alphabet
0-9A-Z), depth and numchild are computed here (today's tree, after the reform). The generator
writes no history rows of django-simple-history (the records are "as imported"); the roll-up
table of the reports is rebuilt at the end.

Entry point: :func:`generate`. Only PostgreSQL is supported (:class:`UnsupportedDatabase`).
"""

import bisect
import heapq
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from branches.choices import MemberStatus, OrganizationChange, OrganizationKind, PeriodEndReason, Position, Sex
from core.events import RecordsLoaded, publish
from core.validators import tax_code_for
from devdata.demo_data import REFORM, REFORM_DECISION_DATE
from enterprises.choices import LocalityKind, MassOrganizationKind, OperatingStatus, Ownership, SizeClass
from reports.metrics import Metric

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STEPLEN = 4
NATIONAL_COMMUNES = 3321
DOMAIN_APPS = ("branches", "enterprises", "reports", "security")

#: The 34 provinces and centrally-run cities after 1 July 2025: (official code, name, weight).
#: The weight is the province's share of non-state enterprises (a few big ones, a long tail).
PROVINCES = [
    ("79", "Thành phố Hồ Chí Minh", 30.0),
    ("01", "Thành phố Hà Nội", 22.0),
    ("31", "Thành phố Hải Phòng", 6.0),
    ("75", "Tỉnh Đồng Nai", 5.0),
    ("48", "Thành phố Đà Nẵng", 4.0),
    ("24", "Tỉnh Bắc Ninh", 3.5),
    ("33", "Tỉnh Hưng Yên", 3.0),
    ("92", "Thành phố Cần Thơ", 2.6),
    ("80", "Tỉnh Tây Ninh", 2.4),
    ("56", "Tỉnh Khánh Hòa", 2.2),
    ("22", "Tỉnh Quảng Ninh", 2.0),
    ("38", "Tỉnh Thanh Hóa", 2.0),
    ("40", "Tỉnh Nghệ An", 1.8),
    ("25", "Tỉnh Phú Thọ", 1.6),
    ("68", "Tỉnh Lâm Đồng", 1.5),
    ("37", "Tỉnh Ninh Bình", 1.4),
    ("19", "Tỉnh Thái Nguyên", 1.2),
    ("51", "Tỉnh Quảng Ngãi", 1.1),
    ("52", "Tỉnh Gia Lai", 1.0),
    ("66", "Tỉnh Đắk Lắk", 0.9),
    ("91", "Tỉnh An Giang", 0.9),
    ("86", "Tỉnh Vĩnh Long", 0.8),
    ("82", "Tỉnh Đồng Tháp", 0.8),
    ("46", "Thành phố Huế", 0.7),
    ("42", "Tỉnh Hà Tĩnh", 0.6),
    ("44", "Tỉnh Quảng Trị", 0.6),
    ("96", "Tỉnh Cà Mau", 0.5),
    ("15", "Tỉnh Lào Cai", 0.5),
    ("08", "Tỉnh Tuyên Quang", 0.4),
    ("14", "Tỉnh Sơn La", 0.3),
    ("20", "Tỉnh Lạng Sơn", 0.3),
    ("04", "Tỉnh Cao Bằng", 0.2),
    ("11", "Tỉnh Điện Biên", 0.15),
    ("12", "Tỉnh Lai Châu", 0.1),
]

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Thu", "Xuân", "Hoài", "Gia"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long"]
GIVEN += ["Mai", "Nam", "Ngân", "Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tú", "Tuấn", "Vy", "Yến"]
TRADE_WORDS = ["An Phát", "Bình Minh", "Hưng Thịnh", "Phú Cường", "Thành Công", "Việt Tiến", "Đại Dương"]
TRADE_WORDS += ["Sao Mai", "Hoàng Long", "Trường Sơn", "Tân Tiến", "Hòa Bình", "Kim Ngân", "Đông Á", "Nam Việt"]
LEGAL_FORMS = {
    Ownership.PRIVATE: "Công ty TNHH",
    Ownership.JOINT_STOCK: "Công ty Cổ phần",
    Ownership.FOREIGN_INVESTED: "Công ty TNHH",
    Ownership.COOPERATIVE: "Hợp tác xã",
    Ownership.NON_PUBLIC_EDUCATION: "Trường",
    Ownership.NON_PUBLIC_HEALTH: "Phòng khám",
}
OWNERSHIP_WEIGHTS = [
    (Ownership.PRIVATE, 55),
    (Ownership.JOINT_STOCK, 30),
    (Ownership.FOREIGN_INVESTED, 6),
    (Ownership.COOPERATIVE, 6),
    (Ownership.NON_PUBLIC_EDUCATION, 2),
    (Ownership.NON_PUBLIC_HEALTH, 1),
]
STATUS_WEIGHTS = [
    (OperatingStatus.OPERATING, 85),
    (OperatingStatus.NOT_OPERATING, 7),
    (OperatingStatus.SUSPENDED, 4),
    (OperatingStatus.CEASED, 4),
]
MASS_KIND_WEIGHTS = [
    (MassOrganizationKind.TRADE_UNION, 60),
    (MassOrganizationKind.YOUTH_UNION, 25),
    (MassOrganizationKind.WOMENS_UNION, 10),
    (MassOrganizationKind.VETERANS_ASSOCIATION, 5),
]
MASS_KIND_LABELS = {
    MassOrganizationKind.TRADE_UNION: "Công đoàn cơ sở",
    MassOrganizationKind.YOUTH_UNION: "Đoàn Thanh niên",
    MassOrganizationKind.WOMENS_UNION: "Hội Phụ nữ",
    MassOrganizationKind.VETERANS_ASSOCIATION: "Hội Cựu chiến binh",
}
#: Metrics that get a Target row for every committee and year (the mass_orgs_* totals follow rule 4).
TARGET_METRICS = (
    Metric.PARTY_ORGS_ESTABLISHED,
    Metric.MEMBERS_ADMITTED,
    Metric.TRADE_UNIONS_ESTABLISHED,
    Metric.TRADE_UNION_MEMBERS_ADMITTED,
    Metric.YOUTH_UNIONS_ESTABLISHED,
    Metric.YOUTH_UNION_MEMBERS_ADMITTED,
)

#: The decision of each province's committee on the reform (an invented number), dated REFORM_DECISION_DATE.
REFORM_DECISION = "{serial}-QĐ/TU"


def reform_successor_count(rank, districts):
    """How many commune-level committees the ``rank``-th (0-based, heaviest first) of a province's
    ``districts`` district committees ends in: 3 for the heaviest third, 2 for the others."""
    return 3 if rank < -(-districts // 3) else 2


#: Citizen IDs: 3-digit province code + 9-digit serial. The import benchmark uses prefix 999.
IMPORT_CITIZEN_PREFIX = "999"


class UnsupportedDatabase(Exception):
    """The generator writes with PostgreSQL COPY; SQLite is refused."""


class NotEmpty(Exception):
    """Domain tables already hold rows and ``reset`` was not asked for."""


@dataclass
class Sizes:
    members: int = 1_000_000
    enterprises: int = 1_000_000
    organizations: int = 50_000
    mass_organizations: int = 200_000
    years: int = 10
    seed: int = 2025

    def scaled(self, factor):
        return Sizes(
            members=max(1, int(self.members * factor)),
            enterprises=max(1, int(self.enterprises * factor)),
            organizations=max(MIN_ORGANIZATIONS, int(self.organizations * factor)),
            mass_organizations=max(1, int(self.mass_organizations * factor)),
            years=self.years,
            seed=self.seed,
        )


MIN_ORGANIZATIONS = 150


@dataclass
class Result:
    sizes: Sizes
    counts: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    root_code: str = "TW"
    start: date = None
    end: date = None


def path_step(position):
    """The 4-character base-36 step of the ``position``-th child (1-based), as treebeard writes it."""
    digits = []
    n = position
    while n:
        n, r = divmod(n, 36)
        digits.append(ALPHABET[r])
    return "".join(reversed(digits)).rjust(STEPLEN, "0")


def check_database():
    if connection.vendor != "postgresql":
        raise UnsupportedDatabase(
            "generate_scale writes with PostgreSQL COPY and refuses to run on "
            f"{connection.vendor}: set DATABASE_URL=postgres://… (e.g. postgres://postgres@127.0.0.1:5432/scale)."
        )


def domain_tables():
    """Every table of the domain apps (models and their history), for --reset and the emptiness check."""
    tables = []
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            if not model._meta.managed or model._meta.proxy:
                continue
            tables.append(model._meta.db_table)
    return tables


def reset():
    check_database()
    tables = ", ".join(connection.ops.quote_name(t) for t in domain_tables())
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending deferred checks
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def is_empty():
    from branches.models import Member, Organization
    from enterprises.models import Enterprise, Locality

    return not any(m.objects.exists() for m in (Locality, Organization, Enterprise, Member))


class Copier:
    """Writes rows of one model with COPY; fields not given get their default (e.g. ``version``)."""

    def __init__(self, cursor, model, names):
        self.model = model
        now = timezone.now()
        # Columns derived from a name (search and sort keys, core/text.py) are computed per row.
        self.derived = [
            (names.index(source), function, model._meta.get_field(target).max_length)
            for target, (source, function) in getattr(model, "derived_text", {}).items()
        ]
        names = list(names) + list(getattr(model, "derived_text", {}))
        given = set(names)
        extra_names, extra_values = [], []
        for f in model._meta.concrete_fields:
            if f.attname in given or f.primary_key and f.attname in given:
                continue
            if f.primary_key:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            elif f.has_default():
                value = f.get_default()
            elif f.null:
                value = None
            else:
                raise ValueError(f"{model.__name__}.{f.name} has no value and no default")
            extra_names.append(f.column)
            extra_values.append(value)
        columns = [model._meta.get_field(n).column if n != "id" else "id" for n in names] + extra_names
        self.extra = tuple(extra_values)
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        self.sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({quoted}) FROM STDIN"
        self.cursor = cursor
        self.count = 0

    def write(self, rows):
        extra = self.extra
        with self.cursor.copy(self.sql) as copy:
            derived = self.derived
            for row in rows:
                if derived:
                    row = tuple(row) + tuple(function(row[index] or "")[:limit] for index, function, limit in derived)
                copy.write_row(row + extra)
                self.count += 1
        return self.count


def _drop_foreign_keys():
    """Drop the foreign keys touching the domain tables (bulk-load practice); returns how to re-create them."""
    tables = domain_tables()
    with connection.cursor() as cursor:
        # Fire any pending deferred checks of earlier writes in this transaction (ALTER refuses them).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))",
            [tables, tables],
        )
        keys = cursor.fetchall()
        for table, name, _definition in keys:
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(table)} DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )
    return keys


def _create_foreign_keys(keys):
    with connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(table)} ADD CONSTRAINT {connection.ops.quote_name(name)} "
                f"{definition}"
            )


def _raw_cursor(cursor):
    """The psycopg cursor under Django's wrapper (``.copy()`` lives there)."""
    return cursor.cursor


def _weighted_choice_table(weights):
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    return cum


def _pick(rng, population, cum, k):
    return rng.choices(population, cum_weights=cum, k=k)


def _split(total, weights):
    """Integer parts of ``total`` proportional to ``weights`` (largest remainders), summing to ``total``."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    parts = [int(x) for x in raw]
    rest = total - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)[:rest]:
        parts[i] += 1
    return parts


def _equal_parts(value, n):
    """``value`` cut in ``n`` whole parts adding up to it, the first ones larger (largest remainder)."""
    quotient, remainder = divmod(value, n)
    return [quotient + (i < remainder) for i in range(n)]


def _person_name(rng):
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


class Generator:
    def __init__(self, sizes, *, today=None, log=None, reform=True):
        self.sizes = sizes
        self.rng = random.Random(sizes.seed)
        self.today = today or timezone.localdate()
        self.end = self.today - timedelta(days=1)
        self.start = date(self.end.year - sizes.years + 1, 1, 1)
        # The reform of 1 July 2025, when the window reaches it (see the module's docstring).
        self.reform = reform and self.end >= REFORM
        self.successors = {}  # district committee id → [commune committee ids]
        self.versions = []  # OrganizationVersion rows (without id)
        self.decision_of = {}  # district committee id → the number of the decision ending it
        self.log = log or (lambda message: None)
        self.result = Result(sizes=sizes, start=self.start, end=self.end)
        # Facts kept for later steps and for the targets (committee ids at depth 3 → counts).
        self.actuals = {}

    # Helpers --------------------------------------------------------------------------------
    def _count(self, committee_id, year, metric, n=1):
        if year >= self.start.year:
            key = (committee_id, year, metric)
            self.actuals[key] = self.actuals.get(key, 0) + n

    def _day_between(self, lo, hi):
        """A random ordinal day in [lo, hi] (ordinals)."""
        return lo if hi <= lo else self.rng.randint(lo, hi)

    def _timed(self, name, fn):
        t0 = time.monotonic()
        value = fn()
        self.result.seconds[name] = round(time.monotonic() - t0, 1)
        self.log(f"  {name}: {self.result.seconds[name]} s")
        return value

    # Steps ----------------------------------------------------------------------------------
    def run(self):
        check_database()
        with connection.cursor() as wrapper:
            self.cursor = _raw_cursor(wrapper)
            foreign_keys = self._timed("drop foreign keys", _drop_foreign_keys)
            self._timed("localities", self.localities)
            self._timed("committees", self.committees)
            self._timed("enterprises", self.enterprises)
            self._timed("grassroots organisations", self.grassroots)
            self._timed("members and periods", self.members)
            self._timed("mass organisations and returns", self.mass_organizations)
            self._timed("targets", self.targets)
            if self.reform:
                self._timed("the reform of 1 July 2025", self.reform_history)
            # PostgreSQL re-validates every foreign key in one set-based pass per constraint.
            self._timed("re-create and validate foreign keys", lambda: _create_foreign_keys(foreign_keys))
            self._timed("sequences and roll-ups", self.finish)
        return self.result

    def localities(self):
        from enterprises.models import Locality

        rng = self.rng
        weights = [w for _c, _n, w in PROVINCES]
        communes_per_province = _split(NATIONAL_COMMUNES - 0, [w**0.35 for w in weights])
        rows = []
        self.provinces = []  # (locality_id, code, name, weight, [(commune_id, weight)])
        self.locality_names = {}
        next_id = itertools.count(1)
        commune_serial = itertools.count(1)
        for index, ((code, name, weight), n_communes) in enumerate(
            zip(PROVINCES, communes_per_province, strict=True), 1
        ):
            pid = next(next_id)
            ppath = path_step(index)
            rows.append((pid, code, name, LocalityKind.PROVINCE, ppath, 1, n_communes))
            communes = []
            for j in range(1, n_communes + 1):
                cid = next(next_id)
                serial = next(commune_serial)
                kind = LocalityKind.WARD if rng.random() < 0.3 else LocalityKind.COMMUNE
                label = "Phường" if kind == LocalityKind.WARD else "Xã"
                rows.append((cid, f"{serial:05d}", f"{label} {serial}", kind, ppath + path_step(j), 2, 0))
                self.locality_names[cid] = f"{label} {serial}"
                communes.append((cid, rng.lognormvariate(0, 1.2)))
            self.provinces.append((pid, code, name, weight, communes))
        names = ["id", "code", "name", "kind", "path", "depth", "numchild"]
        Copier(self.cursor, Locality, names).write(rows)
        self.result.counts["localities"] = len(rows)

    def committees(self):
        """Root, province committees, a bloc committee per province and the commune committees."""
        total_committees = 1 + 2 * len(PROVINCES)
        grassroots_budget = self.sizes.organizations - total_committees
        n_commune = min(NATIONAL_COMMUNES, max(len(PROVINCES), self.sizes.organizations // 15))
        n_commune = min(n_commune, grassroots_budget // 2)
        self.org_rows = []
        self.next_org_id = itertools.count(1)
        founded = date(1990, 1, 1)
        root_id = next(self.next_org_id)
        self.root = (root_id, "0001")
        self.org_children = {root_id: 0}
        capital = next(pid for pid, code, *_rest in self.provinces if code == "01")
        self.org_rows.append(
            [
                root_id,
                "TW",
                "Đảng bộ Trung ương (toàn quốc)",
                OrganizationKind.COMMITTEE,
                capital,
                None,
                founded,
                None,
                "0001",
                1,
            ]
        )
        self.org_paths = {root_id: "0001"}
        # Which communes get a committee: the heaviest ones, spread by province weight.
        province_total = sum(w for *_x, w, _c in self.provinces)
        per_province = _split(n_commune, [w**0.5 for *_x, w, _c in self.provinces])
        self.level3 = []  # (org_id, weight, province_index, commune_locality_id or None)
        self.province_orgs = []
        for index, ((pid, code, name, weight, communes), n_here) in enumerate(
            zip(self.provinces, per_province, strict=True)
        ):
            oid = self._add_org(
                root_id, f"P{code}", f"Đảng bộ {name}", OrganizationKind.COMMITTEE, pid, None, founded, None
            )
            self.province_orgs.append(oid)
            bloc = self._add_org(
                oid,
                f"P{code}-DN",
                f"Đảng ủy Khối Doanh nghiệp {name}",
                OrganizationKind.COMMITTEE,
                pid,
                None,
                founded,
                None,
            )
            pshare = weight / province_total
            commune_total = sum(w for _c, w in communes)
            self.level3.append((bloc, pshare * 0.15, index, None))
            heaviest = sorted(communes, key=lambda c: c[1], reverse=True)[: max(1, n_here)]
            for cid, cw in heaviest:
                # With the reform, the district-level committees of before 1 July 2025.
                coid = self._add_org(
                    oid,
                    f"P{code}-H{cid:05d}" if self.reform else f"P{code}-X{cid:05d}",
                    f"Đảng ủy quận/huyện {cid}" if self.reform else f"Đảng ủy xã/phường {cid}",
                    OrganizationKind.COMMITTEE,
                    cid,
                    None,
                    founded,
                    REFORM if self.reform else None,
                )
                self.level3.append((coid, pshare * 0.85 * cw / commune_total, index, cid))
        self.committee_count = len(self.org_rows)
        if self.reform:
            self._reform_committees()

    def _reform_committees(self):
        """The commune-level committees of 1 July 2025 directly under each province, two or three
        per district (:func:`reform_successor_count`), seated in the district's commune and then in
        the province's other communes, heaviest first; the districts end (split) that day.

        Their ids come after the ``organizations`` of the sizes (the ids, paths and random draws
        of everything else are those of the data without the reform)."""
        next_id = itertools.count(self.sizes.organizations + 1)
        districts = {}  # province index → [district committee ids]
        for oid, _w, pindex, commune in self.level3:
            if commune is not None:
                districts.setdefault(pindex, []).append(oid)
        rows_by_id = {row[0]: row for row in self.org_rows}
        self.reform_committee_count = 0
        for index, (_pid, code, _name, _weight, communes) in enumerate(self.provinces):
            province = self.province_orgs[index]
            decision = REFORM_DECISION.format(serial=2500 + index)
            district_seats = {rows_by_id[d][4] for d in districts.get(index, ())}
            heaviest = [cid for cid, _cw in sorted(communes, key=lambda c: c[1], reverse=True)]
            others = [cid for cid in heaviest if cid not in district_seats]
            others_iter = itertools.cycle(others or [cid for cid, _cw in communes])
            used = {}
            here = districts.get(index, [])
            for rank, district in enumerate(here):
                row = rows_by_id[district]
                seats = [row[4]] + [next(others_iter) for _ in range(reform_successor_count(rank, len(here)) - 1)]
                new = []
                for cid in seats:
                    use = used[cid] = used.get(cid, 0) + 1
                    place = self.locality_names[cid]
                    name = f"Đảng ủy {place[0].lower()}{place[1:]}" + (f" ({use})" if use > 1 else "")
                    oid = next(next_id)
                    position = self.org_children[province] = self.org_children[province] + 1
                    path = self.org_paths[province] + path_step(position)
                    self.org_paths[oid] = path
                    self.org_children[oid] = 0
                    self.org_rows.append(
                        [
                            oid,
                            f"P{code}-X{cid:05d}" + (f"-{use}" if use > 1 else ""),
                            name,
                            OrganizationKind.COMMITTEE,
                            cid,
                            None,
                            REFORM,
                            None,
                            path,
                            0,
                        ]
                    )
                    self._version(oid, province, name, REFORM, None, OrganizationChange.ESTABLISHED, decision)
                    new.append(oid)
                self.successors[district] = new
                self.decision_of[district] = decision
                self._version(
                    district,
                    province,
                    row[2],
                    row[6],
                    REFORM,
                    OrganizationChange.ESTABLISHED,
                    "",
                    end_change=OrganizationChange.SPLIT,
                    end_decision=decision,
                )
            self.reform_committee_count += sum(len(self.successors[d]) for d in districts.get(index, ()))
        self.turn = dict.fromkeys(self.successors, 0)

    def _version(self, oid, parent, name, valid_from, valid_to, change, decision, *, end_change="", end_decision=""):
        """An OrganizationVersion row; a decision is dated REFORM_DECISION_DATE."""
        self.versions.append(
            (
                oid,
                parent,
                name,
                valid_from,
                valid_to,
                change,
                decision,
                REFORM_DECISION_DATE if decision else None,
                end_change,
                end_decision,
                REFORM_DECISION_DATE if end_decision else None,
            )
        )

    def _after_reform(self, district, enterprise=None):
        """The commune committee the organisations of ``district`` are below from the reform on:
        that of their enterprise, else the district's successors in turn."""
        if enterprise is not None:
            return self.ent_commune[enterprise]
        successors = self.successors[district]
        turn = self.turn[district]
        self.turn[district] = turn + 1
        return successors[turn % len(successors)]

    def _add_org(self, parent_id, code, name, kind, locality_id, enterprise_id, established, dissolved):
        oid = next(self.next_org_id)
        position = self.org_children[parent_id] = self.org_children[parent_id] + 1
        path = self.org_paths[parent_id] + path_step(position)
        self.org_paths[oid] = path
        self.org_children[oid] = 0
        self.org_rows.append([oid, code, name, kind, locality_id, enterprise_id, established, dissolved, path, 0])
        return oid

    def enterprises(self):
        from enterprises.models import Enterprise

        rng = self.rng
        n = self.sizes.enterprises
        cum = _weighted_choice_table([w for _o, w, _p, _c in self.level3])
        committees = _pick(rng, range(len(self.level3)), cum, n)
        ownerships = _pick(
            rng, [o for o, _w in OWNERSHIP_WEIGHTS], _weighted_choice_table([w for _o, w in OWNERSHIP_WEIGHTS]), n
        )
        statuses = _pick(
            rng, [s for s, _w in STATUS_WEIGHTS], _weighted_choice_table([w for _s, w in STATUS_WEIGHTS]), n
        )
        tax_serial = {code: 1000 for code, _n, _w in PROVINCES}
        province_communes = [[c for c, _w in communes] for *_x, communes in self.provinces]
        self.ent_employees = employees = [0] * (n + 1)
        self.ent_committee = ent_committee = [0] * (n + 1)
        self.ent_locality = ent_locality = [0] * (n + 1)
        self.ent_name = ent_name = [""] * (n + 1)
        # With the reform: the commune committee the enterprise passed to on 1 July 2025 (today's).
        self.ent_commune = ent_commune = [0] * (n + 1)
        successors = self.successors
        lognorm = rng.lognormvariate
        rand = rng.random
        words = TRADE_WORDS

        def rows():
            for i in range(1, n + 1):
                org_id, _w, pindex, commune = self.level3[committees[i - 1]]
                if commune is None:
                    commune = rng.choice(province_communes[pindex])
                pcode = PROVINCES[pindex][0]
                code = tax_code_for(tax_serial[pcode], pcode)
                tax_serial[pcode] = int(code[2:9]) + 1
                staff = min(100_000, int(lognorm(2.2, 1.5)) + 1)
                size = (
                    SizeClass.MICRO
                    if staff < 10
                    else SizeClass.SMALL
                    if staff < 100
                    else SizeClass.MEDIUM
                    if staff < 200
                    else SizeClass.LARGE
                )
                ownership = ownerships[i - 1]
                name = f"{LEGAL_FORMS[ownership]} {words[i % len(words)]} {i}"
                employees[i], ent_committee[i], ent_locality[i], ent_name[i] = staff, org_id, commune, name
                today = org_id
                if org_id in successors:
                    today = ent_commune[i] = self._after_reform(org_id)
                park = f"KCN số {i % 97}" if rand() < 0.08 else ""
                yield (
                    i,
                    code,
                    name,
                    ownership,
                    commune,
                    park,
                    f"Số {i % 500 + 1}, đường {i % 89 + 1}",
                    size,
                    staff,
                    statuses[i - 1],
                    today,
                    None,
                )

        names = [
            "id",
            "tax_code",
            "name",
            "ownership",
            "locality_id",
            "industrial_park",
            "address",
            "size_class",
            "employees",
            "operating_status",
            "managing_committee_id",
            "recorded_by_id",
        ]
        self.result.counts["enterprises"] = Copier(self.cursor, Enterprise, names).write(rows())

    def grassroots(self):
        """Grassroots committees (with subordinate branches) and grassroots branches in the bigger enterprises."""
        from branches.models import Organization

        rng = self.rng
        budget = self.sizes.organizations - self.committee_count
        n_gc = max(1, int(budget * 0.07))
        subs = [1 + min(40, int(rng.lognormvariate(0.9, 0.8))) for _ in range(n_gc)]
        while n_gc + sum(subs) > budget * 0.45:
            subs = [max(1, s - 1) for s in subs]
            if all(s == 1 for s in subs):
                break
        n_sub = sum(subs)
        n_gb = budget - n_gc - n_sub
        n = self.sizes.enterprises
        # Enterprises with a Party organisation: mostly the big ones.
        needed = min(n, n_gc + n_gb)
        emp = self.ent_employees
        rand = rng.random
        chosen = heapq.nlargest(needed, range(1, n + 1), key=lambda i: emp[i] * (0.2 + rand()))
        self.ent_org = {}
        start_o, end_o = self.start.toordinal(), self.end.toordinal()
        early = date(1995, 1, 1).toordinal()

        def established():
            return self._day_between(early, start_o - 1) if rng.random() < 0.4 else self._day_between(start_o, end_o)

        self.member_orgs = []  # (org_id, weight, est_ord, diss_ord or None, enterprise, level3 id)
        self.org_level3 = {}
        for k in range(n_gc):
            ent = chosen[k]
            parent = self.ent_committee[ent]
            est = established()
            below = self._below(parent, ent, est, None)
            gc = self._add_org(
                below,
                f"GC{k + 1:06d}",
                f"Đảng ủy {self.ent_name[ent]}",
                OrganizationKind.GRASSROOTS_COMMITTEE,
                self.ent_locality[ent],
                ent,
                date.fromordinal(est),
                None,
            )
            self._moved(gc, parent, below, est, None)
            self.ent_org[ent] = gc
            self._count(parent, date.fromordinal(est).year, Metric.PARTY_ORGS_ESTABLISHED)
            for s in range(subs[k]):
                sest = self._day_between(est, end_o)
                diss = self._dissolution(sest)
                sub = self._add_org(
                    gc,
                    f"GC{k + 1:06d}-{s + 1:02d}",
                    f"Chi bộ {s + 1} — {self.ent_name[ent]}",
                    OrganizationKind.SUBORDINATE_BRANCH,
                    self.ent_locality[ent],
                    ent if rng.random() < 0.7 else None,
                    date.fromordinal(sest),
                    date.fromordinal(diss) if diss else None,
                )
                self._count(parent, date.fromordinal(sest).year, Metric.PARTY_ORGS_ESTABLISHED)
                weight = max(1, self.ent_employees[ent]) ** 0.6 / subs[k]
                self.member_orgs.append((sub, weight, sest, diss, ent, parent))
        for k in range(n_gb):
            if n_gc + k < len(chosen) and rng.random() < 0.9:
                ent = chosen[n_gc + k]
                parent, locality, label = self.ent_committee[ent], self.ent_locality[ent], self.ent_name[ent]
            else:
                # A branch combining several small enterprises: no enterprise of its own.
                ent = None
                parent, _w, pindex, commune = rng.choice(self.level3)
                locality = commune or rng.choice(self.provinces[pindex][4])[0]
                label = "ghép các doanh nghiệp nhỏ"
            est = established()
            diss = self._dissolution(est)
            below = self._below(parent, ent, est, diss)
            gb = self._add_org(
                below,
                f"GB{k + 1:06d}",
                f"Chi bộ {label}",
                OrganizationKind.GRASSROOTS_BRANCH,
                locality,
                ent,
                date.fromordinal(est),
                date.fromordinal(diss) if diss else None,
            )
            self._moved(gb, parent, below, est, diss)
            if ent is not None:
                self.ent_org.setdefault(ent, gb)
            self._count(parent, date.fromordinal(est).year, Metric.PARTY_ORGS_ESTABLISHED)
            weight = max(3, self.ent_employees[ent] if ent else 20) ** 0.6
            self.member_orgs.append((gb, weight, est, diss, ent, parent))
        for row in self.org_rows:
            row[9] = self.org_children[row[0]]
        names = [
            "id",
            "code",
            "name",
            "kind",
            "locality_id",
            "enterprise_id",
            "established_on",
            "dissolved_on",
            "path",
            "numchild",
        ]
        decision_of = self.decision_of
        depth_rows = (tuple(row) + (len(row[8]) // STEPLEN, decision_of.get(row[0], "")) for row in self.org_rows)
        Copier(self.cursor, Organization, names + ["depth", "dissolution_decision_number"]).write(depth_rows)
        self.result.counts["organizations"] = len(self.org_rows)
        self.result.counts["dissolved organizations"] = sum(1 for row in self.org_rows if row[7])
        if self.reform:
            self.result.counts["district committees ended 1 July 2025"] = len(self.successors)
            self.result.counts["commune committees from 1 July 2025"] = self.reform_committee_count

    def _below(self, parent, enterprise, est, diss):
        """Today's parent of an organisation of the committee ``parent`` established on ``est`` and
        dissolved on ``diss`` (ordinals): a district's organisation still active on REFORM, or
        founded later, is below a commune committee; one dissolved by then stays below the district."""
        if parent not in self.successors or (diss is not None and diss <= REFORM.toordinal()):
            return parent
        return self._after_reform(parent, enterprise)

    def _moved(self, oid, district, commune, est, diss):
        """The dated states of an organisation moved (with its subtree) from ``district`` to
        ``commune`` on REFORM; one founded from that day on was founded there (no state)."""
        if commune == district or est >= REFORM.toordinal():
            return
        row = self.org_rows[-1]
        decision = self.decision_of[district]
        established = date.fromordinal(est)
        self._version(
            oid,
            district,
            row[2],
            established,
            REFORM,
            OrganizationChange.ESTABLISHED,
            "",
            end_change=OrganizationChange.MOVED,
            end_decision=decision,
        )
        dissolved = date.fromordinal(diss) if diss else None
        self._version(
            oid,
            commune,
            row[2],
            REFORM,
            dissolved,
            OrganizationChange.MOVED,
            decision,
            end_change=OrganizationChange.DISSOLVED if dissolved else "",
        )

    def _dissolution(self, est):
        """About 4% of branches are dissolved at least half a year after they were established."""
        end_o = self.end.toordinal()
        if est + 180 < end_o and self.rng.random() < 0.04:
            return self._day_between(est + 180, end_o)
        return None

    def members(self):
        from branches.models import OVERLAPPING_PERIODS, PERIOD_OVERLAP_TRIGGER, Member, MembershipPeriod

        rng = self.rng
        n = self.sizes.members
        orgs = self.member_orgs
        cum = _weighted_choice_table([w for _o, w, *_r in orgs])
        picks = _pick(rng, range(len(orgs)), cum, n)
        # Transfer destinations: branches never dissolved (so a transferred member stays put).
        stable = [i for i, o in enumerate(orgs) if o[3] is None]
        stable_cum = _weighted_choice_table([orgs[i][1] for i in stable])
        start_o, end_o = self.start.toordinal(), self.end.toordinal()
        earliest = date(1985, 1, 1).toordinal()
        today = self.today
        province_of = {}
        for row in self.org_rows:
            province_of[row[0]] = row[8][:8]
        province_codes = {self.org_paths[oid]: PROVINCES[i][0] for i, oid in enumerate(self.province_orgs)}
        periods = []
        period_id = itertools.count(1)
        sexes = (Sex.MALE, Sex.FEMALE)
        counters = {"transfers": 0, "to residence": 0, "left": 0, "dissolved": 0}
        rand = rng.random

        def member_rows():
            for i in range(1, n + 1):
                org_id, _w, est, diss, ent, level3 = orgs[picks[i - 1]]
                hi = (diss - 1) if diss else end_o
                lo = max(est, earliest)
                if hi < start_o or lo >= start_o:
                    adm = self._day_between(lo, hi)
                elif rand() < 0.3:
                    adm = self._day_between(lo, start_o - 1)
                else:
                    adm = self._day_between(start_o, hi)
                admitted = date.fromordinal(adm)
                self._count(level3, admitted.year, Metric.MEMBERS_ADMITTED)
                owner = rand() < 0.015
                if owner:
                    self._count(level3, admitted.year, Metric.OWNERS_ADMITTED)
                dob = date.fromordinal(adm - rng.randint(6600, 18000))
                official = None
                if adm + 366 <= end_o:
                    official = (
                        admitted.replace(year=admitted.year + 1)
                        if not (admitted.month == 2 and admitted.day == 29)
                        else date(admitted.year + 1, 2, 28)
                    )
                status = MemberStatus.ACTIVE
                current, current_ent = org_id, ent
                start = adm
                end_limit = (diss - 1) if diss else end_o
                r = rand()
                ended = None
                if r < 0.08 and adm < end_limit:
                    # Transfer to another organisation (closes one period, opens the next).
                    t = self._day_between(adm + 1, end_limit)
                    for _try in range(4):
                        dest = orgs[stable[bisect.bisect_left(stable_cum, rand() * stable_cum[-1])]]
                        if dest[0] != org_id and dest[2] <= t:
                            periods.append(
                                (next(period_id), i, org_id, admitted, date.fromordinal(t), PeriodEndReason.TRANSFER)
                            )
                            current, current_ent, start = dest[0], dest[4], t
                            counters["transfers"] += 1
                            diss = None  # the destination is never dissolved
                            break
                elif r < 0.10 and adm < end_limit:
                    ended = (self._day_between(adm + 1, end_limit), PeriodEndReason.RESIDENCE)
                    status = MemberStatus.TRANSFERRED_TO_RESIDENCE
                    counters["to residence"] += 1
                elif r < 0.12 and adm < end_limit:
                    reason = rng.choice((PeriodEndReason.RESIGNED, PeriodEndReason.DIED, PeriodEndReason.STRUCK_OFF))
                    ended = (self._day_between(adm + 1, end_limit), reason)
                    status = MemberStatus.LEFT
                    counters["left"] += 1
                if ended is None and diss is not None:
                    # The branch was dissolved: the members go to their places of residence.
                    ended = (diss, PeriodEndReason.DISSOLVED)
                    status = MemberStatus.TRANSFERRED_TO_RESIDENCE
                    counters["dissolved"] += 1
                if ended:
                    periods.append(
                        (next(period_id), i, current, date.fromordinal(start), date.fromordinal(ended[0]), ended[1])
                    )
                else:
                    periods.append((next(period_id), i, current, date.fromordinal(start), None, ""))
                pcode = province_codes.get(province_of[org_id], "001")
                yield (
                    i,
                    _person_name(rng),
                    sexes[i & 1] if rand() < 0.9 else sexes[(i + 1) & 1],
                    dob,
                    f"0{pcode}{i:09d}",
                    f"{i:09d}",
                    current_ent,
                    Position.OWNER if owner else (Position.MANAGER if rand() < 0.1 else Position.WORKER),
                    owner,
                    admitted,
                    org_id,
                    owner,
                    official if official and official < today else None,
                    current,
                    status,
                )

        names = [
            "id",
            "full_name",
            "sex",
            "date_of_birth",
            "citizen_id",
            "party_card_number",
            "enterprise_id",
            "position",
            "is_business_owner",
            "admitted_on",
            "admitted_by_id",
            "owner_at_admission",
            "official_on",
            "organization_id",
            "status",
        ]
        self.result.counts["members"] = Copier(self.cursor, Member, names).write(member_rows())
        with connection.cursor() as wrapper:
            # The overlap trigger would lock every member's row in one statement: it is off for the
            # COPY, and every period is checked once after it (branches' migration 0020).
            wrapper.execute(f"ALTER TABLE branches_membershipperiod DISABLE TRIGGER {PERIOD_OVERLAP_TRIGGER}")
        Copier(
            self.cursor,
            MembershipPeriod,
            ["id", "member_id", "organization_id", "started_on", "ended_on", "end_reason"],
        ).write(periods)
        with connection.cursor() as wrapper:
            wrapper.execute(f"ALTER TABLE branches_membershipperiod ENABLE ALWAYS TRIGGER {PERIOD_OVERLAP_TRIGGER}")
            wrapper.execute(OVERLAPPING_PERIODS)
            overlapping = wrapper.fetchone()
            if overlapping:
                raise RuntimeError(f"generated periods overlap: member {overlapping[0]}")
        self.result.counts["membership periods"] = len(periods)
        self.result.counts.update(counters)

    def mass_organizations(self):
        from enterprises.models import MassOrganization, MembershipReturn

        rng = self.rng
        n = self.sizes.mass_organizations
        n_ent = self.sizes.enterprises
        cum = _weighted_choice_table([self.ent_employees[i] ** 0.7 for i in range(1, n_ent + 1)])
        ents = _pick(rng, range(1, n_ent + 1), cum, n)
        kinds = _pick(
            rng, [k for k, _w in MASS_KIND_WEIGHTS], _weighted_choice_table([w for _k, w in MASS_KIND_WEIGHTS]), n
        )
        start_o, end_o = self.start.toordinal(), self.end.toordinal()
        early = date(2000, 1, 1).toordinal()
        returns = []
        return_id = itertools.count(1)
        established_metric = {
            MassOrganizationKind.TRADE_UNION: Metric.TRADE_UNIONS_ESTABLISHED,
            MassOrganizationKind.YOUTH_UNION: Metric.YOUTH_UNIONS_ESTABLISHED,
        }
        admitted_metric = {
            MassOrganizationKind.TRADE_UNION: Metric.TRADE_UNION_MEMBERS_ADMITTED,
            MassOrganizationKind.YOUTH_UNION: Metric.YOUTH_UNION_MEMBERS_ADMITTED,
        }

        def rows():
            for i in range(1, n + 1):
                ent, kind = ents[i - 1], kinds[i - 1]
                committee = self.ent_committee[ent]
                est = (
                    self._day_between(early, start_o - 1) if rng.random() < 0.45 else self._day_between(start_o, end_o)
                )
                diss = self._dissolution(est)
                staff = self.ent_employees[ent]
                total = (
                    max(1, int(staff * rng.uniform(0.2, 0.9)))
                    if kind == MassOrganizationKind.TRADE_UNION
                    else max(1, int(staff * rng.uniform(0.05, 0.4)))
                )
                established = date.fromordinal(est)
                returns.append((next(return_id), i, established, total, total, True))
                self._count(committee, established.year, Metric.MASS_ORGS_ESTABLISHED)
                self._count(committee, established.year, Metric.MASS_ORG_MEMBERS_ADMITTED, total)
                if kind in established_metric:
                    self._count(committee, established.year, established_metric[kind])
                    self._count(committee, established.year, admitted_metric[kind], total)
                last = min(end_o, diss) if diss else end_o
                day = est
                for _k in range(rng.randint(1, 4)):
                    day += rng.randint(200, 420)
                    if day > last:
                        break
                    admitted = int(total * rng.uniform(0, 0.3))
                    total = max(0, total + admitted - int(total * rng.uniform(0, 0.25)))
                    when = date.fromordinal(day)
                    returns.append((next(return_id), i, when, total, admitted, False))
                    self._count(committee, when.year, Metric.MASS_ORG_MEMBERS_ADMITTED, admitted)
                    if kind in admitted_metric:
                        self._count(committee, when.year, admitted_metric[kind], admitted)
                yield (
                    i,
                    kind,
                    f"{MASS_KIND_LABELS[kind]} {self.ent_name[ent]}",
                    ent,
                    established,
                    date.fromordinal(diss) if diss else None,
                )

        self.result.counts["mass organizations"] = Copier(
            self.cursor, MassOrganization, ["id", "kind", "name", "enterprise_id", "established_on", "dissolved_on"]
        ).write(rows())
        self.result.counts["membership returns"] = Copier(
            self.cursor,
            MembershipReturn,
            ["id", "mass_organization_id", "date", "members_total", "members_admitted", "is_founding"],
        ).write(returns)

    def targets(self):
        """Every committee, every year of the window: level-3 targets near their actuals, above them
        the sums. A district's targets of the reform's year are carried on REFORM to its commune
        committees in equal shares (``TargetCarry``, as ``reports.services.carry_targets`` does);
        those of the years after are set on them, in the same shares."""
        from reports.models import Target, TargetCarry

        rng = self.rng
        rows = []
        carries = []
        target_id = itertools.count(1)
        carry_id = itertools.count(1)
        successors_of = self.successors
        years = range(self.start.year, self.end.year + 1)
        parent_of = {}
        for row in self.org_rows[: self.committee_count]:
            path = row[8]
            if len(path) > STEPLEN:
                parent_of[row[0]] = path[:-STEPLEN]
        by_path = {row[8]: row[0] for row in self.org_rows[: self.committee_count]}
        sums = {}
        for oid, _w, _p, _c in self.level3:
            for year in years:
                for metric in TARGET_METRICS:
                    actual = self.actuals.get((oid, year, metric), 0)
                    value = max(1, round(actual * rng.uniform(0.75, 1.25)))
                    successors = successors_of.get(oid)
                    if successors and year >= REFORM.year:
                        for successor, part in zip(successors, _equal_parts(value, len(successors)), strict=True):
                            rows.append((next(target_id), successor, year, metric, part))
                            if year == REFORM.year:
                                carries.append((next(carry_id), oid, successor, year, metric, REFORM, part, None))
                    if not successors or year <= REFORM.year:
                        rows.append((next(target_id), oid, year, metric, value))
                    for ancestor_path in (parent_of[oid], parent_of[oid][:STEPLEN]):
                        key = (by_path[ancestor_path], year, metric)
                        sums[key] = sums.get(key, 0) + value
        for (oid, year, metric), value in sorted(sums.items()):
            rows.append((next(target_id), oid, year, metric, int(math.ceil(value / 5.0) * 5)))
        self.result.counts["targets"] = Copier(
            self.cursor, Target, ["id", "committee_id", "year", "metric", "value"]
        ).write(rows)
        if carries:
            self.result.counts["targets carried"] = Copier(
                self.cursor,
                TargetCarry,
                ["id", "source_id", "successor_id", "year", "metric", "on", "value", "previous"],
            ).write(carries)

    def reform_history(self):
        """The dated history of the reform: the organisations' states and the enterprises' committees."""
        from branches.models import OrganizationVersion
        from enterprises.models import ManagingCommitteePeriod

        version_id = itertools.count(1)
        self.result.counts["organisation states"] = Copier(
            self.cursor,
            OrganizationVersion,
            [
                "id",
                "organization_id",
                "parent_id",
                "name",
                "valid_from",
                "valid_to",
                "change",
                "decision_number",
                "decision_date",
                "end_change",
                "end_decision_number",
                "end_decision_date",
            ],
        ).write((next(version_id),) + row for row in self.versions)
        district_of, commune_of = self.ent_committee, self.ent_commune
        decision_of = self.decision_of
        period_id = itertools.count(1)

        def periods():
            for enterprise in range(1, self.sizes.enterprises + 1):
                commune = commune_of[enterprise]
                if commune:
                    district = district_of[enterprise]
                    yield (next(period_id), enterprise, district, None, REFORM, "", None)
                    decision = decision_of[district]
                    yield (next(period_id), enterprise, commune, REFORM, None, decision, REFORM_DECISION_DATE)

        self.result.counts["managing committee periods"] = Copier(
            self.cursor,
            ManagingCommitteePeriod,
            ["id", "enterprise_id", "committee_id", "valid_from", "valid_to", "decision_number", "decision_date"],
        ).write(periods())

    def finish(self):
        # The ids were COPYed: each sequence moves past its table's largest (Django's own reset,
        # which passes over the tables without a sequence, those keyed by what they count).
        domain_models = [model for label in DOMAIN_APPS for model in apps.get_app_config(label).get_models()]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), domain_models):
                cursor.execute(statement)
        # Everything was COPYed with no event per record: the subscribers recount once.
        publish(RecordsLoaded(tuple(model._meta.label for model in domain_models)))
        self.result.root_code = "TW"


def generate(sizes=None, *, reset_first=False, log=None, analyze=True, reform=True):
    """Build the dataset (in one transaction) and return a :class:`Result` with counts and timings;
    ``reform=False``: the same data with no reform of 1 July 2025 (the districts stand today)."""
    check_database()
    sizes = sizes or Sizes()
    if sizes.organizations < MIN_ORGANIZATIONS:
        raise ValueError(f"--organizations must be at least {MIN_ORGANIZATIONS}")
    with transaction.atomic():
        if reset_first:
            reset()
        elif not is_empty():
            raise NotEmpty("The database already holds domain rows: pass --reset to truncate them first.")
        result = Generator(sizes, log=log, reform=reform).run()
    if analyze and not connection.in_atomic_block:
        # VACUUM as well as ANALYZE: it sets the visibility map, without which the covering
        # indexes cannot answer index-only (autovacuum would, minutes later).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    return result
