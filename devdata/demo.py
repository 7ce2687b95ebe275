"""Demo data: Hà Nội and Quảng Ninh, built so that every reference figure of DOMAIN.md follows
exactly from the records when they are tallied by its rules.

The figures come from two news reports (``../shared/context``); the records that produce them are
invented, deterministic (a fixed random seed) and obey the rules the services enforce: valid tax
codes, unique 12-digit citizen IDs, members at least 18 on admission, half-open membership
periods (at most one open, none overlapping), ``owner_at_admission`` for owners, organisations
under parents of the allowed kind, mass organisations founded with a founding return.

Rows are built in memory and written with ``bulk_create`` in one transaction; treebeard's
materialised paths (steplen 4, alphabet 0-9A-Z), depth and numchild are computed here. No history
rows are written for the bulk rows (they are "as imported").

Entry points: :func:`load` (the data, once) and :func:`ensure_users` (the demo logins, whose
passwords are reset on every call). ``python manage.py load_demo`` calls both.

What the data holds, by design (the tests in ``tests/devdata/test_demo_data.py`` check each by direct
queries):

* Hà Nội (``HN``, no targets of its own) with five committees below it whose 2024 targets add up
  to 90 organisations, 903 admissions, 350 trade unions with 30,000 members and 200 youth unions
  with 5,000 members. 2024 actuals: 100 grassroots organisations, 1,024 admissions (13 business
  owners), 847 trade unions and 216 youth unions established, 122,063 + 6,912 union members
  admitted. From 27 February 2012 to the end of 2024: 1,931 organisations, 12,717 admissions
  (67 owners), 8,655 trade and youth unions, 587,258 union members. On 31 December 2024, 118
  enterprises without a Party organisation have 3 or more official members (members of branches
  combining several small enterprises) and 317 have 1–2. Hanoi records nothing after 2024 that
  would change these (no admissions, transfers or dissolutions after 31 December 2024).
* Quảng Ninh (``QN``) on 31 December 2024: 30 grassroots committees with 410 subordinate branches,
  13 grassroots branches, 5,482 members. Cẩm Phả (``QN-CP``): 28 branches, 461 members, 19 business
  owners in 15 branches, two branches dissolved in 2024 with their members sent to their places
  of residence. Uông Bí (``QN-UB``): 16 admissions from January to September 2024 against a
  target of 25, 3 more in October–December. Cái Lân's branch (``QN-HL-CAILAN``), established
  1 February 2012, last admitted a member in 2019.
"""

import datetime
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from branches.choices import MemberStatus, OrganizationChange, PeriodEndReason, Position, ProspectStage, RoleKey, Sex
from branches.events import OrganizationSplit
from branches.models import Member, MembershipPeriod, Organization, OrganizationVersion, Prospect, RoleAssignment
from core.dates import add_years
from core.events import RecordsLoaded, publish
from core.validators import tax_code_for
from devdata.demo_data import (
    ALPHABET,
    AS_OF,
    CEREMONY_PENDING,
    CLINICS,
    COMMITTEE,
    CORE_A,
    CORE_B,
    DAY,
    DEMO_END,
    DEMO_PEOPLE,
    DEMO_USERS,
    DEPARTMENTS,
    FOREIGN_BRANDS,
    FOREIGN_LINES,
    GB,
    GC,
    GIVEN,
    HANOI_2024,
    HANOI_COMMITTEES,
    HANOI_DISTRICTS,
    HANOI_ELIGIBLE_ENTERPRISES,
    HANOI_ONE_OR_TWO_MEMBER_ENTERPRISES,
    HANOI_PARKS,
    HANOI_SINCE_2012,
    HANOI_TARGETS_2025,
    LOCALITY_REFORM_DECISION,
    LOCALITY_REFORM_DECISION_DATE,
    MIDDLE,
    QN_CP,
    QN_PARKS,
    QN_STRUCTURE,
    QN_UB_ADMITTED_BY_SEPTEMBER,
    QN_UB_ADMITTED_LATER_IN_2024,
    QN_UB_TARGET,
    QUANG_NINH_DISTRICTS,
    REFORM,
    REFORM_DECISION,
    REFORM_DECISION_DATE,
    REFORM_SUCCESSORS,
    REFORM_WARD_MERGES,
    RESOLUTION_09,
    SB,
    SCHOOLS,
    SECTORS,
    SEED,
    SPECIAL_ENTERPRISES,
    STREETS,
    SURNAMES,
    TARGET_METRICS,
    TU,
    UONG_BI_INTERIM,
    YEAR_START,
    YU,
    D,
)
from enterprises.choices import (
    LocalityChange,
    LocalityKind,
    MassOrganizationKind,
    OperatingStatus,
    Ownership,
    SizeClass,
)
from enterprises.models import (
    LOCALITIES_RECORDED_FROM,
    Enterprise,
    EnterpriseLocalityPeriod,
    Locality,
    LocalityVersion,
    ManagingCommitteePeriod,
    MassOrganization,
    MembershipReturn,
)
from reports.metrics import Metric
from reports.models import Target
from security.services import password_changed, update_profile


def path_step(position):
    """treebeard's step for a 1-based position: base 36, zero-padded to 4 characters."""
    digits = ""
    while position:
        position, rest = divmod(position, 36)
        digits = ALPHABET[rest] + digits
    return digits.rjust(4, "0")


class Tree:
    """Materialised paths for nodes built in memory; children keep their insertion order."""

    def __init__(self, model):
        last_root = model.objects.filter(depth=1).order_by("-path").values_list("path", flat=True).first()
        self.roots = int(last_root, 36) if last_root else 0

    def add(self, node, parent=None):
        node.numchild = 0
        if parent is None:
            self.roots += 1
            node.path, node.depth = path_step(self.roots), 1
        else:
            parent.numchild += 1
            node.path, node.depth = parent.path + path_step(parent.numchild), parent.depth + 1
        return node


def department_name(departments, index):
    """The ``index``-th department of a grassroots committee; numbered once the list runs out."""
    name = departments[index % len(departments)]
    return name if index < len(departments) else f"{name} {index // len(departments) + 1}"


def official_date(admitted_on):
    """Twelve months after admission (29 February → 28 February)."""
    return add_years(admitted_on, 1)


def apportion(total, weights, minimums):
    """Whole numbers adding up to ``total``, at least ``minimums``, the rest proportional to ``weights``."""
    rest = total - sum(minimums)
    weight_sum = sum(weights)
    if rest < 0 or weight_sum <= 0:
        raise ValueError("cannot apportion")
    shares = [divmod(rest * w, weight_sum) for w in weights]
    values = [m + q for m, (q, _r) in zip(minimums, shares, strict=True)]
    leftover = rest - sum(q for q, _r in shares)
    for i in sorted(range(len(weights)), key=lambda i: -shares[i][1])[:leftover]:
        values[i] += 1
    return values


def insert_rows(model, rows, batch_size=5000):
    """INSERT rows given as dicts (attname → value) without building model instances.

    For the big tables nothing refers to (membership periods and returns); PostgreSQL gets them
    through ``COPY``. Fields a row leaves out take their model default; ``auto_now``/``auto_now_add``
    fields take the current time.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()

    def prepare(f, value):
        if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField):
            return connection.ops.adapt_datefield_value(value)
        return f.get_db_prep_save(value, connection)

    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = prepare(f, now)
        else:
            defaults[f.attname] = prepare(f, f.get_default() if f.has_default() else None)
    dates = {f.attname for f in fields if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField)}
    adapt_date = connection.ops.adapt_datefield_value
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    names = [f.attname for f in fields]
    derived = getattr(model, "derived_text", {})  # search and sort keys (core/text.py)
    if derived:
        rows = [{**row, **{t: fn(row.get(src) or "") for t, (src, fn) in derived.items()}} for row in rows]
    values = [
        tuple((adapt_date(row[n]) if n in dates else row[n]) if n in row else defaults[n] for n in names)
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = ", ".join(quote(f.column) for f in fields)
            with cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            for start in range(0, len(values), batch_size):
                cursor.executemany(sql, values[start : start + batch_size])
    return len(values)


@dataclass(eq=False)
class Plan:
    """A member's life before it becomes rows: admission, then periods ``[org, start, end, reason]``."""

    admitted_by: Organization
    admitted_on: datetime.date
    province: str
    enterprise: Enterprise | None = None
    owner: bool = False
    became_owner: bool = False
    position: str = Position.WORKER
    full_name: str = ""
    sex: str = ""
    periods: list = field(default_factory=list)


class Builder:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.localities = []
        self.committees = []
        self.grassroots = []
        self.enterprises = []
        self.plans = []
        self.prospects = []
        self.mass_organizations = []
        self.returns = []  # (mass organisation, date, weight, is_founding)
        self.targets = []
        self.by_code = {}
        self.place = {}
        self.tax_serial = {"01": 3_100_000, "57": 3_100_000}
        self.tax_codes = set()
        self.citizen_serial = {}
        self.card_serial = 0
        names = [f"{s} {a} {b}" for s in SECTORS for a in CORE_A for b in CORE_B if a != b]
        self.rng.shuffle(names)
        self.name_pool = names
        self.used_names = set(SPECIAL_ENTERPRISES)
        self.union_index = 0
        self.org_tree = Tree(Organization)
        self.locality_tree = Tree(Locality)

    # Helpers -----------------------------------------------------------------------------------

    def day_between(self, start, end):
        return start + DAY * self.rng.randint(0, (end - start).days)

    def tax_code(self, province):
        while True:
            code = tax_code_for(self.tax_serial[province], province)
            self.tax_serial[province] += 13
            if code not in self.tax_codes:
                self.tax_codes.add(code)
                return code

    def citizen_id(self, province, sex, born):
        century = 0 if born.year < 2000 else 2
        prefix = f"{'001' if province == '01' else '022'}{century + (sex == Sex.FEMALE)}{born.year % 100:02d}"
        serial = self.citizen_serial.get(prefix, 0) + 1
        self.citizen_serial[prefix] = serial
        return f"{prefix}{serial:06d}"

    def person_name(self, sex):
        rng = self.rng
        return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"

    def unique_name(self, name):
        candidate, n = name, 1
        while candidate in self.used_names:
            n += 1
            candidate = f"{name} {n}"
        self.used_names.add(candidate)
        return candidate

    def enterprise_name(self, ownership):
        rng = self.rng
        core = self.name_pool.pop()
        brand = " ".join(core.split(" ")[-2:])
        if ownership == Ownership.FOREIGN_INVESTED:
            name = f"Công ty TNHH {rng.choice(FOREIGN_BRANDS)} {rng.choice(FOREIGN_LINES)} Việt Nam"
        elif ownership == Ownership.JOINT_STOCK:
            name = f"Công ty Cổ phần {core}"
        elif ownership == Ownership.COOPERATIVE:
            name = f"Hợp tác xã {rng.choice(['Dịch vụ', 'Vận tải', 'Xây dựng', 'Thương mại'])} {brand}"
        elif ownership == Ownership.NON_PUBLIC_EDUCATION:
            name = f"{rng.choice(SCHOOLS)} {brand}"
        elif ownership == Ownership.NON_PUBLIC_HEALTH:
            name = f"{rng.choice(CLINICS)} {brand}"
        elif rng.random() < 0.15:
            name = f"Doanh nghiệp tư nhân {brand}"
        else:
            name = f"Công ty TNHH {core}"
        return self.unique_name(name)

    def enterprise(self, *, committee, wards, size=None, ownership=None, name=None, park="", province="01", **extra):
        rng = self.rng
        if ownership is None:
            ownership = rng.choices(
                list(Ownership), weights=[44, 34, 10, 4, 4, 4] if province == "01" else [50, 30, 12, 4, 2, 2]
            )[0]
        if size is None:
            size = rng.choices(list(SizeClass), weights=[30, 45, 17, 8])[0]
        employees = {
            SizeClass.MICRO: (3, 10),
            SizeClass.SMALL: (11, 100),
            SizeClass.MEDIUM: (101, 200),
            SizeClass.LARGE: (201, 2500),
        }[size]
        locality = rng.choice(wards)
        if not park and ownership == Ownership.FOREIGN_INVESTED and rng.random() < 0.6:
            park = rng.choice(HANOI_PARKS if province == "01" else QN_PARKS)
        enterprise = Enterprise(
            tax_code=extra.pop("tax_code", None) or self.tax_code(province),
            name=name or self.enterprise_name(ownership),
            ownership=ownership,
            locality=locality,
            industrial_park=park,
            address=f"Số {rng.randint(1, 300)} {rng.choice(STREETS)}, {locality.name}",
            size_class=size,
            employees=extra.pop("employees", None) or rng.randint(*employees),
            operating_status=extra.pop("operating_status", OperatingStatus.OPERATING),
            managing_committee=committee,
        )
        self.enterprises.append(enterprise)
        return enterprise

    def locality(self, code, name, kind, parent=None):
        locality = self.locality_tree.add(Locality(code=code, name=name, kind=kind), parent)
        self.localities.append(locality)
        return locality

    def committee(self, code, name, locality, established_on, parent=None):
        org = Organization(code=code, name=name, kind=COMMITTEE, locality=locality, established_on=established_on)
        self.org_tree.add(org, parent)
        self.committees.append(org)
        self.by_code[code] = org
        org.committee = org
        return org

    def grassroots_org(self, parent, code, name, kind, established_on, enterprise=None, locality=None, **extra):
        org = Organization(
            code=code,
            name=name,
            kind=kind,
            locality=locality or enterprise.locality,
            enterprise=enterprise,
            established_on=established_on,
            coordination_regulation_signed=extra.pop("signed", self.rng.random() < 0.7),
            **extra,
        )
        self.org_tree.add(org, parent)
        self.grassroots.append(org)
        self.by_code[code] = org
        org.committee = parent.committee
        return org

    def plan(self, org, admitted_on, province, *, enterprise="org", owner=False, sex=None, name=None, position=None):
        rng = self.rng
        sex = sex or (Sex.MALE if rng.random() < 0.56 else Sex.FEMALE)
        if position is None:
            position = (
                Position.OWNER
                if owner
                else rng.choices([Position.MANAGER, Position.TECHNICAL, Position.WORKER], weights=[15, 25, 60])[0]
            )
        plan = Plan(
            admitted_by=org,
            admitted_on=admitted_on,
            province=province,
            enterprise=org.enterprise if enterprise == "org" else enterprise,
            owner=owner,
            position=position,
            full_name=name or self.person_name(sex),
            sex=sex,
            periods=[[org, admitted_on, None, ""]],
        )
        self.plans.append(plan)
        return plan

    # Places and committees ---------------------------------------------------------------------

    def places(self):
        for province_code, province_name, districts in (
            ("01", "Thành phố Hà Nội", HANOI_DISTRICTS),
            ("22", "Tỉnh Quảng Ninh", QUANG_NINH_DISTRICTS),
        ):
            province = self.locality(province_code, province_name, LocalityKind.PROVINCE)
            province.wards = []
            self.place[province_code] = province
            for code, name, wards in districts:
                district = self.locality(code, name, LocalityKind.DISTRICT, province)
                district.wards = []
                self.place[code] = district
                for ward_code, ward_name in wards:
                    kind = LocalityKind.WARD if ward_name.startswith("Phường") else LocalityKind.COMMUNE
                    ward = self.locality(ward_code, ward_name, kind, district)
                    self.place[ward_name] = ward
                    district.wards.append(ward)
                    province.wards.append(ward)

    # Hà Nội ------------------------------------------------------------------------------------

    def hanoi(self):
        rng = self.rng
        city = self.place["01"]
        hn = self.committee("HN", "Thành ủy Hà Nội", city, D(1946, 1, 1))
        leaves = []
        for code, name, district, established_on, values in HANOI_COMMITTEES:
            locality = self.place[district] if district else city
            committee = self.committee(code, name, locality, established_on, hn)
            committee.wards = locality.wards
            for metric, value in zip(TARGET_METRICS, values, strict=True):
                self.targets.append(Target(committee=committee, year=2024, metric=metric, value=value))
            leaves.append(committee)
        cau_giay = self.by_code["HN-CG"]
        ward_committee = self.committee(
            "HN-CG-DVH", "Đảng ủy phường Dịch Vọng Hậu", self.place["Phường Dịch Vọng Hậu"], D(2005, 1, 1), cau_giay
        )
        ward_committee.wards = [self.place["Phường Dịch Vọng Hậu"]]
        leaves.append(ward_committee)
        weights = [30, 12, 16, 18, 18, 6]
        sequence = {c.code: 0 for c in leaves}

        def next_code(committee, prefix=""):
            sequence[committee.code] += 1
            return f"{committee.code}-{prefix}{sequence[committee.code]:04d}"

        def new_gc(committee, established_on):
            enterprise = self.enterprise(
                committee=committee, wards=committee.wards, size=rng.choice([SizeClass.MEDIUM, SizeClass.LARGE])
            )
            gc = self.grassroots_org(
                committee, next_code(committee), f"Đảng bộ {enterprise.name}", GC, established_on, enterprise
            )
            gc.departments = rng.sample(DEPARTMENTS, len(DEPARTMENTS))
            return gc

        def new_sb(gc, established_on):
            department = department_name(gc.departments, gc.numchild)
            return self.grassroots_org(
                gc,
                f"{gc.code}-{gc.numchild + 1:02d}",
                f"Chi bộ {department} - {gc.enterprise.name}",
                SB,
                established_on,
                gc.enterprise,
            )

        def new_gb(committee, established_on, **kwargs):
            enterprise = self.enterprise(committee=committee, wards=committee.wards, **kwargs)
            return self.grassroots_org(
                committee, next_code(committee), f"Chi bộ {enterprise.name}", GB, established_on, enterprise
            )

        combined_in_ward = {}

        def new_combined(committee, established_on):
            ward = rng.choice(committee.wards)
            sequence[committee.code] += 1
            number = combined_in_ward[ward.code] = combined_in_ward.get(ward.code, 0) + 1
            org = self.grassroots_org(
                committee,
                f"{committee.code}-G{sequence[committee.code]:03d}",
                f"Chi bộ ghép các doanh nghiệp ngoài nhà nước {ward.name.replace('Phường ', 'phường ')} số {number}",
                GB,
                established_on,
                locality=ward,
            )
            org.combined = True
            return org

        # The secretary's branch of the demo logins.
        hong_ha = new_gb(
            cau_giay,
            D(2016, 5, 19),
            name="Công ty TNHH Thương mại và Dịch vụ Hồng Hà",
            ownership=Ownership.PRIVATE,
            size=SizeClass.SMALL,
            employees=86,
        )
        hong_ha.code = "HN-CG-HONGHA"
        hong_ha.coordination_regulation_signed = True
        self.by_code["HN-CG-HONGHA"] = hong_ha
        self.hong_ha = hong_ha

        gcs = []
        buckets = [
            # start, end, committees, subordinate branches, grassroots branches, combining branches, fixed dates
            (D(1996, 1, 1), RESOLUTION_09 - DAY, 60, 170, 270, 12, [RESOLUTION_09 - DAY]),
            (RESOLUTION_09, D(2023, 12, 31), 70, 250, 1477, 33, [RESOLUTION_09, D(2023, 12, 31)]),
            (YEAR_START, AS_OF, 4, 14, 82, 0, [YEAR_START, AS_OF]),
        ]
        for start, end, n_gc, n_sb, n_gb, n_combined, fixed in buckets:
            new = []
            for _ in range(n_gc):
                committee = rng.choices(leaves, weights)[0]
                gc = new_gc(committee, self.day_between(start, end))
                gcs.append(gc)
                new.append(gc)
            for gc in new:
                for _ in range(2):
                    new_sb(gc, gc.established_on)
            for _ in range(n_sb - 2 * n_gc):
                gc = rng.choice([g for g in gcs if g.established_on <= end])
                new_sb(gc, self.day_between(max(gc.established_on, start), end))
            dates = fixed + [self.day_between(start, end) for _ in range(n_gb - len(fixed))]
            for established_on in dates:
                new_gb(rng.choices(leaves, weights)[0], established_on)
            for _ in range(n_combined):
                new_combined(rng.choices(leaves, weights)[0], self.day_between(start, min(end, D(2021, 12, 31))))
        hanoi_orgs = [o for o in self.grassroots if o.committee.path.startswith(hn.path)]
        combined = [o for o in hanoi_orgs if getattr(o, "combined", False)]

        # Branches dissolved before 2024: their members go to their places of residence.
        candidates = [
            o
            for o in hanoi_orgs
            if o.kind == GB and o.enterprise is not None and o is not hong_ha and o.established_on <= D(2019, 12, 31)
        ]
        for org in rng.sample(candidates, 20):
            org.dissolved_on = self.day_between(org.established_on + DAY * 730, D(2023, 12, 31))
            org.enterprise.operating_status = OperatingStatus.CEASED

        # Enterprises without a Party organisation whose members belong to combining branches.
        gap_plans = []
        for index in range(HANOI_ELIGIBLE_ENTERPRISES + HANOI_ONE_OR_TWO_MEMBER_ENTERPRISES):
            branch = rng.choice(combined)
            committee = branch.committee
            enterprise = self.enterprise(
                committee=committee, wards=committee.wards, size=rng.choice([SizeClass.MICRO, SizeClass.SMALL])
            )
            count = rng.randint(3, 6) if index < HANOI_ELIGIBLE_ENTERPRISES else rng.randint(1, 2)
            for _ in range(count):
                plan = self.plan(
                    branch, self.day_between(branch.established_on, D(2023, 12, 31)), "01", enterprise=enterprise
                )
                gap_plans.append(plan)
        self.gap_plans = gap_plans

        # Everyone else: admissions by the ordinary branches, so many per period.
        eligible = sorted(
            (o for o in hanoi_orgs if o.kind != GC and not getattr(o, "combined", False)),
            key=lambda o: o.established_on,
        )
        eligible_dates = [o.established_on for o in eligible]
        stable = [o for o in eligible if o.dissolved_on is None]
        stable_dates = [o.established_on for o in stable]

        def pick(orgs, dates, on, exclude=None):
            limit = bisect_right(dates, on)
            while True:
                org = orgs[rng.randrange(limit)]
                if org.dissolved_on is not None and org.dissolved_on <= on:
                    continue
                if org is exclude:
                    continue
                return org

        gap_before = sum(1 for p in gap_plans if p.admitted_on < RESOLUTION_09)
        admissions = [
            # start, end, how many, of which owners, fixed dates, forced into Hồng Hà
            (D(1998, 1, 1), RESOLUTION_09 - DAY, 2600 - gap_before, 9, [RESOLUTION_09 - DAY], 0),
            (
                RESOLUTION_09,
                D(2023, 12, 31),
                HANOI_SINCE_2012["members_admitted"] - HANOI_2024["members_admitted"] - (len(gap_plans) - gap_before),
                HANOI_SINCE_2012["owners_admitted"] - HANOI_2024["owners_admitted"],
                [RESOLUTION_09, D(2023, 12, 31)],
                11,
            ),
            (YEAR_START, AS_OF, HANOI_2024["members_admitted"], HANOI_2024["owners_admitted"], [YEAR_START, AS_OF], 3),
        ]
        general = []
        for start, end, count, owners, fixed, forced in admissions:
            dates = fixed + [self.day_between(start, end) for _ in range(count - len(fixed))]
            owner_indexes = set(rng.sample(range(count), owners))
            for index, admitted_on in enumerate(dates):
                if forced and admitted_on >= hong_ha.established_on and index >= len(fixed):
                    org, forced = hong_ha, forced - 1
                else:
                    org = pick(eligible, eligible_dates, admitted_on)
                plan = self.plan(org, admitted_on, "01", owner=index in owner_indexes)
                general.append(plan)

        # What became of them by the end of 2024 (nothing happens in Hanoi after that).
        for plan in general:
            roll = rng.random()
            first = plan.periods[0]
            event = None
            if roll < 0.07 and plan.admitted_on + DAY * 90 < AS_OF:
                on = self.day_between(plan.admitted_on + DAY * 90, AS_OF)
                event = ("transfer", on)
            elif roll < 0.11 and plan.admitted_on + DAY * 30 < AS_OF:
                event = (PeriodEndReason.RESIDENCE, self.day_between(plan.admitted_on + DAY * 30, AS_OF))
            elif roll < 0.13 and plan.admitted_on + DAY * 30 < AS_OF:
                reason = rng.choice(
                    [
                        PeriodEndReason.RESIGNED,
                        PeriodEndReason.DIED,
                        PeriodEndReason.STRUCK_OFF,
                        PeriodEndReason.EXPELLED,
                    ]
                )
                event = (reason, self.day_between(plan.admitted_on + DAY * 30, AS_OF))
            dissolved = first[0].dissolved_on
            if dissolved is not None and (event is None or event[1] >= dissolved):
                first[2], first[3] = dissolved, PeriodEndReason.DISSOLVED
            elif event and event[0] == "transfer":
                target = pick(stable, stable_dates, event[1], exclude=first[0])
                first[2], first[3] = event[1], PeriodEndReason.TRANSFER
                plan.periods.append([target, event[1], None, ""])
                plan.enterprise = target.enterprise
            elif event:
                first[2], first[3] = event[1], event[0]
        # A few members became business owners after their admission.
        for plan in rng.sample([p for p in general if not p.owner and p.periods[-1][2] is None], 6):
            plan.became_owner = True
            plan.position = Position.OWNER

        # Enterprises with neither a Party organisation nor members.
        for _ in range(5900):
            committee = rng.choices(leaves, weights)[0]
            status = rng.choices(list(OperatingStatus), weights=[88, 5, 4, 3])[0]
            self.enterprise(
                committee=committee,
                wards=committee.wards,
                operating_status=status,
                size=rng.choices(list(SizeClass), weights=[40, 45, 12, 3])[0],
            )

        # Mass organisations: trade unions and youth unions only (no other kinds in Hanoi).
        hanoi_enterprises = [e for e in self.enterprises if e.managing_committee.path.startswith(hn.path)]
        rng.shuffle(hanoi_enterprises)
        hanoi_enterprises.remove(hong_ha.enterprise)
        self.union(TU, hong_ha.enterprise, D(2017, 3, 8), dissolve=False)
        self.union(YU, hong_ha.enterprise, D(2018, 3, 26), dissolve=False)
        plans = {
            TU: [
                (D(2000, 1, 1), RESOLUTION_09 - DAY, 700, [RESOLUTION_09 - DAY, D(2005, 3, 8)]),
                (RESOLUTION_09, D(2023, 12, 31), 6153 - 1, [RESOLUTION_09, D(2023, 12, 31)]),
                (YEAR_START, AS_OF, HANOI_2024["trade_unions_established"], [YEAR_START, AS_OF]),
            ],
            YU: [
                (D(2003, 1, 1), RESOLUTION_09 - DAY, 150, [RESOLUTION_09 - DAY]),
                (RESOLUTION_09, D(2023, 12, 31), 1439 - 1, [RESOLUTION_09]),
                (YEAR_START, AS_OF, HANOI_2024["youth_unions_established"], [AS_OF]),
            ],
        }
        with_union = {TU: hanoi_enterprises[: sum(p[2] for p in plans[TU])]}
        with_union[YU] = rng.sample(with_union[TU], sum(p[2] for p in plans[YU]))
        for kind, buckets in plans.items():
            enterprises = iter(with_union[kind])
            for start, end, count, fixed in buckets:
                dates = fixed + [self.day_between(start, end) for _ in range(count - len(fixed))]
                for established_on in dates:
                    self.union(kind, next(enterprises), established_on)
        self.hanoi_unions_end = len(self.mass_organizations)
        self.hn = hn

    def union(self, kind, enterprise, established_on, dissolve=True):
        rng = self.rng
        prefix = {
            TU: "Công đoàn cơ sở",
            YU: "Đoàn Thanh niên",
            MassOrganizationKind.WOMENS_UNION: "Chi hội Phụ nữ",
            MassOrganizationKind.VETERANS_ASSOCIATION: "Chi hội Cựu chiến binh",
        }[kind]
        union = MassOrganization(
            kind=kind, name=f"{prefix} {enterprise.name}", enterprise=enterprise, established_on=established_on
        )
        union.index = self.union_index
        self.union_index += 1
        if dissolve and established_on <= D(2022, 12, 31) and rng.random() < 0.03:
            union.dissolved_on = self.day_between(established_on + DAY * 365, D(2024, 6, 30))
        self.mass_organizations.append(union)
        share = {TU: 0.6, YU: 0.2}.get(kind, 0.12)
        self.returns.append([union, established_on, max(3, int(enterprise.employees * share)), True])
        year = established_on.year + 1
        while year <= 2024:
            if (year - established_on.year) % 2 == 0 or year == 2024:
                on = D(year, 12, rng.randint(5, 28))
                if union.dissolved_on is None or on <= union.dissolved_on:
                    weight = max(1, int(enterprise.employees * share * rng.uniform(0.05, 0.3)))
                    self.returns.append([union, on, weight, False])
            year += 1
        return union

    # Quảng Ninh --------------------------------------------------------------------------------

    def quang_ninh(self):
        rng = self.rng
        province = self.place["22"]
        qn = self.committee("QN", "Tỉnh ủy Quảng Ninh", province, D(1963, 10, 30))
        self.qn = qn
        layout = [
            # code, name, district, grassroots committees, their subordinate branches, grassroots branches
            ("QN-HL", "Đảng ủy các đơn vị kinh tế tư nhân thành phố Hạ Long", "193", 10, 150, 3),
            ("QN-CP", "Đảng ủy các đơn vị kinh tế tư nhân thành phố Cẩm Phả", "195", 3, 24, 4),
            ("QN-UB", "Đảng ủy các đơn vị kinh tế tư nhân thành phố Uông Bí", "196", 5, 70, 2),
            ("QN-QY", "Đảng ủy các đơn vị kinh tế tư nhân thị xã Quảng Yên", "206", 6, 90, 2),
            ("QN-MC", "Đảng ủy các đơn vị kinh tế tư nhân thành phố Móng Cái", "194", 6, 76, 2),
        ]
        committees = {}
        for code, name, district, n_gc, n_sb, n_gb in layout:
            committee = self.committee(code, name, self.place[district], D(2009, 6, 1), qn)
            committee.wards = self.place[district].wards
            committee.layout = (n_gc, n_sb, n_gb)
            committees[code] = committee
        ba_che = self.committee("QN-BC", "Huyện ủy Ba Chẽ", self.place["202"], D(1964, 1, 1), qn)
        self.targets.append(
            Target(committee=committees["QN-UB"], year=2024, metric=Metric.MEMBERS_ADMITTED, value=QN_UB_TARGET)
        )

        def qn_enterprise(committee, **kwargs):
            return self.enterprise(committee=committee, wards=committee.wards, province="57", **kwargs)

        # Named organisations of the news reports.
        cai_lan_enterprise = qn_enterprise(
            committees["QN-HL"],
            name="Công ty TNHH Sản xuất Nguyên liệu Giấy Việt Nhật Cái Lân",
            ownership=Ownership.FOREIGN_INVESTED,
            size=SizeClass.SMALL,
            employees=61,
            park="Khu công nghiệp Cái Lân",
        )
        cai_lan_enterprise.locality = self.place["Phường Bãi Cháy"]
        cai_lan_enterprise.address = "Khu công nghiệp Cái Lân, phường Bãi Cháy, thành phố Hạ Long"
        cai_lan = self.grassroots_org(
            committees["QN-HL"],
            "QN-HL-CAILAN",
            f"Chi bộ {cai_lan_enterprise.name}",
            GB,
            D(2012, 2, 1),
            cai_lan_enterprise,
            signed=True,
        )
        thanh_dat_enterprise = qn_enterprise(
            committees["QN-UB"],
            name="Công ty TNHH Thành Đạt Uông Bí",
            ownership=Ownership.PRIVATE,
            size=SizeClass.MEDIUM,
            employees=120,
        )
        thanh_dat = self.grassroots_org(
            committees["QN-UB"],
            "QN-UB-THANHDAT",
            f"Chi bộ {thanh_dat_enterprise.name}",
            GB,
            D(1993, 6, 15),
            thanh_dat_enterprise,
            signed=True,
        )
        housing_enterprise = qn_enterprise(
            committees["QN-CP"],
            name="Công ty Cổ phần Phát triển Nhà Cẩm Phả",
            ownership=Ownership.JOINT_STOCK,
            size=SizeClass.SMALL,
            employees=24,
            operating_status=OperatingStatus.SUSPENDED,
        )
        housing = self.grassroots_org(
            committees["QN-CP"],
            "QN-CP-NHACP",
            f"Chi bộ {housing_enterprise.name}",
            GB,
            D(2009, 3, 12),
            housing_enterprise,
            dissolved_on=D(2024, 7, 26),
        )
        phu_cuong_enterprise = qn_enterprise(
            committees["QN-CP"],
            name="Doanh nghiệp Phú Cường",
            ownership=Ownership.PRIVATE,
            size=SizeClass.MICRO,
            employees=9,
            operating_status=OperatingStatus.CEASED,
        )
        phu_cuong = self.grassroots_org(
            committees["QN-CP"],
            "QN-CP-PHUCUONG",
            f"Chi bộ {phu_cuong_enterprise.name}",
            GB,
            D(2014, 8, 20),
            phu_cuong_enterprise,
            dissolved_on=D(2024, 10, 18),
        )
        self.cai_lan, self.thanh_dat = cai_lan, thanh_dat

        # The rest of each committee: grassroots committees with subordinate branches, grassroots branches.
        branches = {code: [] for code in committees}
        branches["QN-HL"].append(cai_lan)
        branches["QN-UB"].append(thanh_dat)
        for code, committee in committees.items():
            n_gc, n_sb, n_gb = committee.layout
            counts = apportion(n_sb, [rng.randint(8, 20) for _ in range(n_gc)], [2] * n_gc)
            for index, count in enumerate(counts, start=1):
                enterprise = qn_enterprise(committee, size=rng.choice([SizeClass.MEDIUM, SizeClass.LARGE]))
                gc = self.grassroots_org(
                    committee,
                    f"{code}-{index:04d}",
                    f"Đảng bộ {enterprise.name}",
                    GC,
                    self.day_between(D(1996, 1, 1), D(2016, 12, 31)),
                    enterprise,
                )
                departments = rng.sample(DEPARTMENTS, len(DEPARTMENTS))
                for k in range(count):
                    established_on = gc.established_on if k < 3 else self.day_between(gc.established_on, D(2023, 6, 30))
                    sb = self.grassroots_org(
                        gc,
                        f"{gc.code}-{k + 1:02d}",
                        f"Chi bộ {department_name(departments, k)} - {enterprise.name}",
                        SB,
                        established_on,
                        enterprise,
                    )
                    branches[code].append(sb)
                if code in ("QN-HL", "QN-QY") and index <= 2:
                    # A subordinate branch dissolved before 2024; its members moved to a sibling branch.
                    sb = self.grassroots_org(
                        gc,
                        f"{gc.code}-{count + 1:02d}",
                        f"Chi bộ Phân xưởng Chế biến - {enterprise.name}",
                        SB,
                        gc.established_on,
                        enterprise,
                        dissolved_on=self.day_between(D(2019, 1, 1), D(2023, 6, 30)),
                    )
                    sb.destination = branches[code][-count]
            for index in range(n_gb - len([b for b in branches[code] if b.kind == GB])):
                enterprise = qn_enterprise(committee, size=rng.choice([SizeClass.SMALL, SizeClass.MEDIUM]))
                gb = self.grassroots_org(
                    committee,
                    f"{code}-B{index + 1:03d}",
                    f"Chi bộ {enterprise.name}",
                    GB,
                    self.day_between(D(1998, 1, 1), D(2021, 12, 31)),
                    enterprise,
                )
                branches[code].append(gb)

        # Enterprises without a Party organisation (Ba Chẽ has no Party organisation in any enterprise).
        for committee in [*committees.values(), ba_che]:
            wards = committee.wards if committee is not ba_che else self.place["202"].wards
            for _ in range(78 if committee is ba_che else 80):
                self.enterprise(
                    committee=committee, wards=wards, province="57", size=rng.choice([SizeClass.MICRO, SizeClass.SMALL])
                )
        parent = thanh_dat_enterprise
        for n in range(1, 4):
            self.enterprise(
                committee=ba_che,
                wards=self.place["202"].wards,
                province="57",
                name=f"Chi nhánh Ba Chẽ số {n} - {parent.name}",
                tax_code=f"{parent.tax_code}-{n:03d}",
                size=SizeClass.MICRO,
            )

        # Members active on 31 December 2024, branch by branch.
        cp_members = QN_CP["members"]
        active_total = QN_STRUCTURE["members"]
        thanh_dat.active_count, cai_lan.active_count = 43, 8
        fixed = (thanh_dat, cai_lan)
        cp_branches = branches["QN-CP"]
        for branch, count in zip(
            cp_branches,
            apportion(cp_members, [rng.randint(8, 25) for _ in cp_branches], [4] * len(cp_branches)),
            strict=True,
        ):
            branch.active_count = count
        others = [b for code, bs in branches.items() if code != "QN-CP" for b in bs if b not in fixed]
        rest = active_total - cp_members - sum(b.active_count for b in fixed)
        for branch, count in zip(
            others, apportion(rest, [rng.randint(5, 25) for _ in others], [3] * len(others)), strict=True
        ):
            branch.active_count = count

        # Cẩm Phả's business owners: 19 in 15 branches.
        for branch in cp_branches:
            branch.owner_count = 0
        owner_branches = rng.sample(cp_branches, QN_CP["owner_branches"])
        for branch in owner_branches:
            branch.owner_count = 1
        for branch in owner_branches[: QN_CP["owners"] - QN_CP["owner_branches"]]:
            branch.owner_count = 2

        uong_bi = committees["QN-UB"]
        qn_plans = []
        for code, bs in branches.items():
            siblings = [b for b in bs if b not in fixed]
            for branch in bs:
                if branch is cai_lan:
                    continue
                for k in range(branch.active_count):
                    owner = k < branch.owner_count if code == "QN-CP" else rng.random() < 0.012
                    latest = D(2023, 12, 31) if code == "QN-UB" else AS_OF
                    if branch is thanh_dat and k == 0:
                        plan = self.plan(
                            branch,
                            branch.established_on,
                            "22",
                            name="Lê Trọng Thành",
                            sex=Sex.MALE,
                            position=Position.MANAGER,
                        )
                        qn_plans.append(plan)
                        continue
                    source = rng.choice(siblings) if rng.random() < 0.05 and branch not in fixed else branch
                    earliest_move = max(branch.established_on, source.established_on + DAY * 90)
                    if source is not branch and earliest_move <= latest:
                        moved = self.day_between(earliest_move, latest)
                        admitted_on = self.day_between(source.established_on, moved - DAY * 60)
                        plan = self.plan(source, admitted_on, "22", owner=owner)
                        plan.periods[0][2:] = [moved, PeriodEndReason.TRANSFER]
                        plan.periods.append([branch, moved, None, ""])
                        plan.enterprise = branch.enterprise
                    else:
                        plan = self.plan(branch, self.day_between(branch.established_on, latest), "22", owner=owner)
                    qn_plans.append(plan)
                # Some who left before 2025 (transferred to their places of residence, or left the Party).
                if branch not in fixed:
                    for _ in range(rng.choice([0, 0, 1, 1, 2])):
                        latest = D(2023, 12, 31) if code == "QN-UB" else AS_OF - DAY * 40
                        admitted_on = self.day_between(branch.established_on, latest)
                        plan = self.plan(branch, admitted_on, "22")
                        reason = rng.choice(
                            [PeriodEndReason.RESIDENCE] * 3 + [PeriodEndReason.RESIGNED, PeriodEndReason.DIED]
                        )
                        plan.periods[0][2:] = [self.day_between(admitted_on + DAY * 30, AS_OF), reason]
                        qn_plans.append(plan)

        # Uông Bí's 2024 admissions: 16 by the end of September, 3 later in the year.
        ub_plans = [
            p
            for p in qn_plans
            if p.admitted_by.committee is uong_bi
            and len(p.periods) == 1
            and p.periods[0][2] is None
            and p.admitted_by is not thanh_dat
            and p.admitted_by.established_on < YEAR_START
        ]
        chosen = rng.sample(ub_plans, QN_UB_ADMITTED_BY_SEPTEMBER + QN_UB_ADMITTED_LATER_IN_2024)
        dates = [YEAR_START, UONG_BI_INTERIM] + [
            self.day_between(YEAR_START, UONG_BI_INTERIM) for _ in range(QN_UB_ADMITTED_BY_SEPTEMBER - 2)
        ]
        dates += [UONG_BI_INTERIM + DAY, AS_OF - DAY * 3, self.day_between(D(2024, 10, 1), AS_OF)]
        for plan, admitted_on in zip(chosen, dates, strict=True):
            plan.admitted_on = plan.periods[0][1] = admitted_on

        # Cái Lân: founding members transferred in on 1 February 2012, admissions in 2013, 2015 and 2019.
        hl_sources = [b for b in branches["QN-HL"] if b.kind == SB and b.established_on < D(2010, 1, 1)]
        quang = self.plan(
            rng.choice(hl_sources),
            D(1999, 5, 19),
            "22",
            name="Nguyễn Đức Quang",
            sex=Sex.MALE,
            position=Position.MANAGER,
            enterprise=cai_lan_enterprise,
        )
        founders = [quang] + [
            self.plan(
                rng.choice(hl_sources),
                self.day_between(D(2000, 1, 1), D(2011, 6, 30)),
                "22",
                enterprise=cai_lan_enterprise,
            )
            for _ in range(4)
        ]
        for plan in founders:
            if plan.admitted_by.established_on > plan.admitted_on:
                plan.admitted_on = plan.periods[0][1] = plan.admitted_by.established_on
            plan.periods[0][2:] = [cai_lan.established_on, PeriodEndReason.TRANSFER]
            plan.periods.append([cai_lan, cai_lan.established_on, None, ""])
        for admitted_on in (D(2013, 9, 2), D(2015, 5, 19), D(2019, 8, 19)):
            self.plan(cai_lan, admitted_on, "22")
        leaver = self.plan(cai_lan, D(2014, 3, 26), "22")
        leaver.periods[0][2:] = [D(2021, 6, 1), PeriodEndReason.RESIDENCE]
        qn_plans += founders

        # Subordinate branches dissolved before 2024: some of the sibling's members started there.
        for org in self.grassroots:
            destination = getattr(org, "destination", None)
            if destination is None:
                continue
            moving = [
                p
                for p in qn_plans
                if len(p.periods) == 1
                and p.periods[0][0] is destination
                and p.periods[0][2] is None
                and p.admitted_on < org.dissolved_on - DAY * 60
                and not (p.admitted_by.committee is uong_bi and p.admitted_on >= YEAR_START)
            ][:5]
            for plan in moving:
                plan.admitted_by = org
                plan.periods = [
                    [org, plan.admitted_on, org.dissolved_on, PeriodEndReason.DISSOLVED],
                    [destination, org.dissolved_on, None, ""],
                ]

        # Cẩm Phả's two branches dissolved in 2024: their members go to their places of residence.
        for org, stayed, left in ((housing, 9, 4), (phu_cuong, 5, 1)):
            for k in range(stayed + left):
                plan = self.plan(org, self.day_between(org.established_on, D(2022, 12, 31)), "22")
                if k < stayed:
                    plan.periods[0][2:] = [org.dissolved_on, PeriodEndReason.DISSOLVED]
                elif org is housing and k == stayed:
                    # Moved to another branch of Cẩm Phả before the dissolution: one of its 461.
                    target = next(b for b in cp_branches if b.established_on < D(2024, 3, 1))
                    on = D(2024, 3, 15)
                    plan.periods[0][2:] = [on, PeriodEndReason.TRANSFER]
                    plan.periods.append([target, on, None, ""])
                    plan.enterprise = target.enterprise
                    victim = next(
                        p
                        for p in qn_plans
                        if p.periods[-1][0] is target
                        and len(p.periods) == 1
                        and p.periods[0][2] is None
                        and not p.owner
                    )
                    self.plans.remove(victim)
                    qn_plans.remove(victim)
                else:
                    reason = PeriodEndReason.RESIDENCE if org is housing else PeriodEndReason.RESIGNED
                    plan.periods[0][2:] = [self.day_between(D(2024, 1, 15), org.dissolved_on - DAY * 10), reason]

        # Mass organisations of Quảng Ninh: all four kinds, with several returns.
        qn_enterprises = [
            e
            for e in self.enterprises
            if e.managing_committee.path.startswith(qn.path) and e.operating_status == OperatingStatus.OPERATING
        ]
        rng.shuffle(qn_enterprises)
        for kind, count in (
            (TU, 420),
            (YU, 61),
            (MassOrganizationKind.WOMENS_UNION, 35),
            (MassOrganizationKind.VETERANS_ASSOCIATION, 18),
        ):
            for enterprise in qn_enterprises[:count]:
                self.union(kind, enterprise, self.day_between(D(2005, 1, 1), AS_OF))
            rng.shuffle(qn_enterprises)

    # Prospects ---------------------------------------------------------------------------------

    def prospect(self, org, stage, identified_on, *, enterprise="org", plan=None, closed_on=None, notes=""):
        rng = self.rng
        sex = plan.sex if plan else (Sex.MALE if rng.random() < 0.5 else Sex.FEMALE)
        born = identified_on - DAY * rng.randint(19 * 366, 35 * 365)
        course = dossier = None
        if stage in (ProspectStage.COURSE_DONE, ProspectStage.DOSSIER_COMPLETE, ProspectStage.ADMITTED):
            course = identified_on + DAY * rng.randint(60, 200)
        if stage in (ProspectStage.DOSSIER_COMPLETE, ProspectStage.ADMITTED):
            dossier = course + DAY * rng.randint(30, 120)
        province = "01" if org.code.startswith("HN") else "22"
        prospect = Prospect(
            full_name=plan.full_name if plan else self.person_name(sex),
            sex=sex,
            date_of_birth=born,
            citizen_id="" if plan else self.citizen_id(province, sex, born),
            enterprise=org.enterprise if enterprise == "org" else enterprise,
            position=Position.WORKER,
            organization=org,
            stage=stage,
            identified_on=identified_on,
            course_completed_on=course,
            dossier_completed_on=dossier,
            closed_on=closed_on,
            notes=notes,
        )
        prospect.plan = plan
        self.prospects.append(prospect)
        return prospect

    def all_prospects(self):
        rng = self.rng
        open_stages = [ProspectStage.IDENTIFIED, ProspectStage.COURSE_DONE, ProspectStage.DOSSIER_COMPLETE]
        # Admitted prospects: the 2024 admissions of Hồng Hà and a share of the others.
        admitted_2024 = [p for p in self.plans if p.admitted_on >= YEAR_START and p.province == "01"]
        for plan in admitted_2024:
            org = plan.admitted_by
            identified_on = plan.admitted_on - DAY * rng.randint(420, 700)
            if plan.admitted_by is self.hong_ha or (rng.random() < 0.15 and org.established_on <= identified_on):
                prospect = self.prospect(
                    org, ProspectStage.ADMITTED, identified_on, plan=plan, closed_on=plan.admitted_on
                )
                prospect.dossier_completed_on = min(prospect.dossier_completed_on, plan.admitted_on - DAY * 14)
                prospect.course_completed_on = min(prospect.course_completed_on, prospect.dossier_completed_on)
        # Hồng Hà's open prospects, at every stage, and one who left the company.
        for stage, identified_on in (
            (ProspectStage.IDENTIFIED, D(2024, 11, 4)),
            (ProspectStage.IDENTIFIED, D(2025, 3, 10)),
            (ProspectStage.COURSE_DONE, D(2024, 2, 19)),
            (ProspectStage.COURSE_DONE, D(2024, 6, 3)),
            (ProspectStage.DOSSIER_COMPLETE, D(2023, 10, 9)),
        ):
            self.prospect(self.hong_ha, stage, identified_on)
        self.prospect(
            self.hong_ha,
            ProspectStage.WITHDRAWN,
            D(2023, 4, 17),
            closed_on=D(2024, 1, 31),
            notes="Nghỉ việc, chuyển sang doanh nghiệp khác.",
        )
        # Cái Lân: the 2023 dossier whose candidate moved to another job; Thành Đạt: one being finalised.
        withdrawn = self.prospect(
            self.cai_lan, ProspectStage.DOSSIER_COMPLETE, D(2022, 9, 5), notes="Chuyển công tác sang đơn vị khác."
        )
        withdrawn.course_completed_on, withdrawn.dossier_completed_on = D(2023, 3, 15), D(2023, 8, 10)
        withdrawn.stage, withdrawn.closed_on = ProspectStage.WITHDRAWN, D(2023, 11, 20)
        self.prospect(self.thanh_dat, ProspectStage.DOSSIER_COMPLETE, D(2023, 9, 12))
        # Elsewhere: open prospects and a few withdrawn ones.
        active = [
            o
            for o in self.grassroots
            if o.kind != GC
            and o.dissolved_on is None
            and not getattr(o, "combined", False)
            and o.established_on <= D(2024, 6, 30)
        ]
        for org in rng.sample(active, 260):
            for _ in range(rng.randint(1, 3)):
                identified_on = self.day_between(max(org.established_on, D(2022, 1, 1)), D(2024, 9, 30))
                if rng.random() < 0.1:
                    prospect = self.prospect(org, ProspectStage.COURSE_DONE, identified_on)
                    prospect.stage = ProspectStage.WITHDRAWN
                    prospect.closed_on = prospect.course_completed_on + DAY * rng.randint(10, 90)
                else:
                    self.prospect(org, rng.choice(open_stages), identified_on)

    # Writing -----------------------------------------------------------------------------------

    def returns_values(self):
        """Members admitted per return: exact sums for the Hanoi buckets of the reference figures."""
        hanoi = {id(u) for u in self.mass_organizations[: self.hanoi_unions_end]}
        buckets = {}
        for row in self.returns:
            union, on = row[0], row[1]
            key = None
            if id(union) in hanoi:
                if YEAR_START <= on <= AS_OF:
                    key = ("2024", union.kind)
                elif RESOLUTION_09 <= on < YEAR_START:
                    key = ("since 2012", None)
            buckets.setdefault(key, []).append(row)
        totals = {
            ("2024", TU): HANOI_2024["trade_union_members_admitted"],
            ("2024", YU): HANOI_2024["youth_union_members_admitted"],
            ("since 2012", None): HANOI_SINCE_2012["union_members_admitted"]
            - HANOI_2024["trade_union_members_admitted"]
            - HANOI_2024["youth_union_members_admitted"],
        }
        for key, rows in buckets.items():
            if key is None:
                values = [max(1, int(r[2] * 0.8)) if r[3] else int(r[2] * 0.8) for r in rows]
            else:
                values = apportion(totals[key], [r[2] for r in rows], [1 if r[3] else 0 for r in rows])
            for row, value in zip(rows, values, strict=True):
                row.append(value)
        rows = sorted(self.returns, key=lambda r: (r[0].index, r[1]))
        objects, total = [], 0
        for union, on, _weight, founding, admitted in rows:
            if founding:
                total = admitted
            elif on > AS_OF:  # after 2024: no random number, so those of the years before stay the same
                total = max(admitted, total + admitted - total // 20)
            else:
                total = max(admitted, total + admitted - int(total * self.rng.uniform(0.02, 0.12)))
            objects.append(
                {
                    "mass_organization_id": union.pk,
                    "date": on,
                    "members_total": total,
                    "members_admitted": admitted,
                    "is_founding": founding,
                }
            )
        return objects

    def name_the_searched_member(self):
        """The demo secretary's walk-through searches "nguyen thi hang": one woman of the Hồng Hà
        branch bears that name (a rename, no random draw: every figure stays the same)."""
        for plan in self.plans:
            org, _start, end, _reason = plan.periods[-1]
            if org is self.hong_ha and end is None and plan.sex == Sex.FEMALE:
                plan.full_name = "Nguyễn Thị Hằng"
                return

    def member_rows(self):
        self.name_the_searched_member()
        members = []
        for plan in self.plans:
            born = plan.admitted_on - DAY * self.rng.randint(18 * 366 + 1, 47 * 365)
            last = plan.periods[-1]
            ended = last[2]
            if ended is None:
                status = MemberStatus.ACTIVE
            elif last[3] in (PeriodEndReason.RESIDENCE, PeriodEndReason.DISSOLVED):
                status = MemberStatus.TRANSFERRED_TO_RESIDENCE
            else:
                status = MemberStatus.LEFT
            official_on = official_date(plan.admitted_on)
            if (ended is not None and official_on > ended) or official_on > DEMO_END:
                official_on = None  # still on probation on the demo's date: recognised through the service
            # The ceremony on the day of the decision (so probation ends where it always did), except for
            # the admissions of the last weeks: their ceremonies are still to hold (see branches.deadlines).
            ceremony_on = plan.admitted_on if plan.admitted_on <= DEMO_END - CEREMONY_PENDING else None
            self.card_serial += 1
            member = Member(
                full_name=plan.full_name,
                sex=plan.sex,
                date_of_birth=born,
                citizen_id=self.citizen_id(plan.province, plan.sex, born),
                party_card_number=f"{plan.province}{self.card_serial:08d}",
                enterprise=plan.enterprise,
                position=plan.position,
                is_business_owner=plan.owner or plan.became_owner,
                owner_at_admission=plan.owner,
                admitted_on=plan.admitted_on,
                admitted_by=plan.admitted_by,
                official_on=official_on,
                ceremony_on=ceremony_on,
                organization=last[0],
                status=status,
            )
            plan.member = member
            members.append(member)
        return members

    def period_rows(self):
        return [
            {
                "member_id": plan.member.pk,
                "organization_id": org.pk,
                "started_on": start,
                "ended_on": end,
                "end_reason": reason,
            }
            for plan in self.plans
            for org, start, end, reason in plan.periods
        ]

    # The reform of 1 July 2025 and what followed ---------------------------------------------

    def reform(self):
        """The district committees of REFORM_SUCCESSORS end on REFORM: new ward committees directly
        under the province, the district's organisations active that day moved below them in turn
        (Hồng Hà to Nghĩa Đô; a committee below the district merged into the first), its
        enterprises passed to the committee of their organisation (else in turn). The tree built so
        far is today's after the moves; ``versions`` and ``committee_periods`` keep the past."""
        self.versions = []  # (organisation, parent, valid_from, valid_to, change, end_change, successor)
        self.committee_periods = []  # (enterprise, committee, valid_from, valid_to)
        self.successors = {}
        organizations = self.committees + self.grassroots
        for code, wards in REFORM_SUCCESSORS.items():
            district = self.by_code[code]
            parent = next(o for o in self.committees if o.path == district.path[: -len(path_step(1))])
            new = []
            for ward_code, name, seat in wards:
                ward = self.committee(ward_code, name, self.place[seat], REFORM, parent)
                ward.wards = [self.place[seat]]
                self.versions.append((ward, parent, REFORM, None, OrganizationChange.ESTABLISHED, "", None))
                new.append(ward)
            self.successors[code] = new
            turn = 0
            destination_of = {}
            children = [o for o in organizations if o.path[:-4] == district.path and o.is_active_on(REFORM)]
            for child in children:
                if child.kind == COMMITTEE:  # a ward committee below the district: merged into the first
                    below = [o for o in organizations if o.path[:-4] == child.path and o.is_active_on(REFORM)]
                    for grandchild in below:
                        self.move(organizations, grandchild, child, new[0])
                        destination_of[id(grandchild)] = (grandchild, new[0])
                    self.versions.append(
                        (
                            child,
                            district,
                            child.established_on,
                            REFORM,
                            OrganizationChange.ESTABLISHED,
                            OrganizationChange.MERGED,
                            new[0],
                        )
                    )
                    child.dissolved_on = REFORM
                    for enterprise in self.enterprises:
                        if enterprise.managing_committee is child:
                            self.pass_enterprise(enterprise, new[0])
                    continue
                ward = self.by_code["HN-NGHIADO"] if child is self.hong_ha else new[turn % len(new)]
                turn += child is not self.hong_ha
                self.move(organizations, child, district, ward)
                destination_of[id(child)] = (child, ward)
            by_enterprise = {id(o.enterprise): ward for o, ward in destination_of.values() if o.enterprise is not None}
            for enterprise in self.enterprises:
                if enterprise.managing_committee is district:
                    ward = by_enterprise.get(id(enterprise)) or new[turn % len(new)]
                    turn += id(enterprise) not in by_enterprise
                    self.pass_enterprise(enterprise, ward)
            self.versions.append(
                (
                    district,
                    parent,
                    district.established_on,
                    REFORM,
                    OrganizationChange.ESTABLISHED,
                    OrganizationChange.SPLIT,
                    None,
                )
            )
            district.dissolved_on = REFORM
            district.dissolution_decision_number = REFORM_DECISION
        self.recount_children(self.committees + self.grassroots)

    def move(self, organizations, organization, old_parent, new_parent):
        """Move ``organization`` and its subtree below ``new_parent`` on REFORM (paths rewritten)."""
        old = organization.path
        new_parent.numchild += 1
        new = new_parent.path + path_step(new_parent.numchild)
        for other in organizations:
            if other.path.startswith(old):
                other.path = new + other.path[len(old) :]
                other.depth = len(other.path) // 4
                if other.committee is old_parent:
                    other.committee = new_parent
        organization.committee = new_parent.committee
        self.versions.append(
            (
                organization,
                old_parent,
                organization.established_on,
                REFORM,
                OrganizationChange.ESTABLISHED,
                OrganizationChange.MOVED,
                None,
            )
        )
        self.versions.append((organization, new_parent, REFORM, None, OrganizationChange.MOVED, "", None))

    def pass_enterprise(self, enterprise, committee):
        self.committee_periods.append((enterprise, enterprise.managing_committee, None, REFORM))
        self.committee_periods.append((enterprise, committee, REFORM, None))
        enterprise.managing_committee = committee

    @staticmethod
    def recount_children(organizations):
        counts = {}
        for organization in organizations:
            if organization.depth > 1:
                counts[organization.path[:-4]] = counts.get(organization.path[:-4], 0) + 1
        for organization in organizations:
            organization.numchild = counts.get(organization.path, 0)

    def reform_localities(self, recorded_before):
        """The localities of REFORM: the wards of REFORM_WARD_MERGES merge into their seats (renamed),
        then every district ends and its wards and communes still in force move up under the
        province (the merged ones stay, ended, under the ended district). The enterprises of the
        first ``recorded_before`` located in a merged ward pass to its seat from REFORM
        (``locality_periods``); those recorded later, and the organisations established since, are
        simply there. ``locality_versions`` keep the past; uses no random numbers."""
        self.locality_versions = []  # (locality, parent, name, valid_from, valid_to, change, end_change, successor)
        self.locality_periods = []  # (enterprise, locality, valid_from, valid_to)
        seat_of, new_names = {}, {}
        for seat_name, (new_name, merged) in REFORM_WARD_MERGES.items():
            seat = self.place[seat_name]
            new_names[id(seat)] = new_name
            for name in merged:
                seat_of[id(self.place[name])] = seat
        for province in [locality for locality in self.localities if locality.depth == 1]:
            districts = [d for d in self.localities if d.depth == 2 and d.path.startswith(province.path)]
            for district in districts:
                district.numchild = 0
                for ward in district.wards:
                    seat = seat_of.get(id(ward))
                    end = LocalityChange.MERGED if seat else LocalityChange.MOVED
                    self.locality_versions.append(
                        (
                            ward,
                            district,
                            ward.name,
                            LOCALITIES_RECORDED_FROM,
                            REFORM,
                            LocalityChange.ESTABLISHED,
                            end,
                            seat,
                        )
                    )
                    if seat is not None:
                        ward.ended_on = REFORM
                        district.numchild += 1
                        continue
                    province.numchild += 1
                    ward.path, ward.depth = province.path + path_step(province.numchild), 2
                    ward.name = new_names.get(id(ward), ward.name)
                    change = LocalityChange.RENAMED if id(ward) in new_names else LocalityChange.MOVED
                    self.locality_versions.append((ward, province, ward.name, REFORM, None, change, "", None))
                district.ended_on = REFORM
                self.locality_versions.append(
                    (
                        district,
                        province,
                        district.name,
                        LOCALITIES_RECORDED_FROM,
                        REFORM,
                        LocalityChange.ESTABLISHED,
                        LocalityChange.ABOLISHED,
                        None,
                    )
                )
        for index, enterprise in enumerate(self.enterprises):
            seat = seat_of.get(id(enterprise.locality))
            if seat is None:
                continue
            if index < recorded_before:
                self.locality_periods.append((enterprise, enterprise.locality, None, REFORM))
                self.locality_periods.append((enterprise, seat, REFORM, None))
            enterprise.locality = seat
        for organization in self.committees + self.grassroots:  # those established since sit in the new ward
            seat = seat_of.get(id(organization.locality))
            if seat is not None and organization.established_on >= REFORM:
                organization.locality = seat

    def after_2024(self):
        """Hà Nội and Quảng Ninh go on through 2025 and 2026 (nothing of it falls in 2024): 2025
        and 2026 targets set in January on the committees of then, admissions, new branches, trade unions
        and their returns, up to DEMO_END; and a few probationers due for recognition within 60
        days of the day the demo is loaded, so that a secretary's home page is never empty."""
        rng = self.rng
        for code, values in HANOI_TARGETS_2025.items():
            for metric, value in zip(TARGET_METRICS, values, strict=True):
                self.targets.append(Target(committee=self.by_code[code], year=2025, metric=metric, value=value))
                # 2026's, set on the committees of then: the same plan, the wards sharing their district's
                wards = self.successors.get(code) or [self.by_code[code]]
                for ward, part in zip(wards, apportion(value, [1] * len(wards), [0] * len(wards)), strict=True):
                    self.targets.append(Target(committee=ward, year=2026, metric=metric, value=part))
        hn, qn = self.by_code["HN"], self.by_code["QN"]
        wards = [ward for wards in self.successors.values() for ward in wards]
        for province, root, count in (("01", hn, 1800), ("22", qn, 300)):
            branches = [o for o in self.grassroots if o.path.startswith(root.path) and o.kind in (GB, SB)]
            for _ in range(count):
                on = self.day_between(D(2025, 1, 2), DEMO_END)
                branch = rng.choice(branches)
                while not branch.is_active_on(on) or branch.established_on >= on:
                    branch = rng.choice(branches)
                self.plan(branch, on, province)
            committees = [(ward, 6 if province == "01" else 3, REFORM + DAY) for ward in wards]
            committees += [(self.by_code["HN-KDN"], 60, D(2025, 1, 2))] if province == "01" else []
            for committee, count, start in committees:
                if not committee.path.startswith(root.path):
                    continue
                for number in range(1, count + 1):
                    established_on = self.day_between(start, DEMO_END)
                    enterprise = self.enterprise(
                        committee=committee, wards=committee.wards, province="01" if province == "01" else "57"
                    )
                    branch = self.grassroots_org(
                        committee,
                        f"{committee.code}-N{number:03d}",
                        f"Chi bộ {enterprise.name}",
                        GB,
                        established_on,
                        enterprise,
                    )
                    for _ in range(3):
                        self.plan(branch, established_on, province)
                    self.union(TU, enterprise, self.day_between(established_on, DEMO_END), dissolve=False)
        recent = [u for u in self.mass_organizations if u.dissolved_on is None and u.established_on <= AS_OF]
        for union in rng.sample(recent, 1200):
            for year in (2025, 2026):
                self.returns.append([union, D(year, 11, rng.randint(2, 28)), 40, False])
        has = {(id(union.enterprise), union.kind) for union in self.mass_organizations}
        for kind, per_year in ((TU, 330), (YU, 190)):
            pool = [
                e
                for e in self.enterprises
                if e.managing_committee.path.startswith(hn.path) and (id(e), kind) not in has
            ]
            rng.shuffle(pool)
            for index, (start, end) in enumerate(((D(2025, 1, 2), D(2025, 12, 31)), (D(2026, 1, 2), DEMO_END))):
                for enterprise in pool[index * per_year : (index + 1) * per_year]:
                    self.union(kind, enterprise, self.day_between(start, end), dissolve=False)
        for admitted_on in relative_admissions(timezone.localdate()):
            self.plan(self.hong_ha, admitted_on, "01")

    def build(self):
        self.places()
        self.hanoi()
        self.quang_ninh()
        self.all_prospects()
        # What follows 2024 draws from its own random numbers: the records up to 2024 stay the same.
        state, self.rng = self.rng.getstate(), random.Random(SEED + 2025)
        self.reform()
        recorded_before = len(self.enterprises)
        self.after_2024()
        self.reform_localities(recorded_before)
        self.rng = random.Random()
        self.rng.setstate(state)

    def save(self):
        batch = 2000
        Locality.objects.bulk_create(self.localities, batch_size=batch)
        Organization.objects.bulk_create(self.committees, batch_size=batch)
        Enterprise.objects.bulk_create(self.enterprises, batch_size=batch)
        Organization.objects.bulk_create(self.grassroots, batch_size=batch)
        members = self.member_rows()
        Member.objects.bulk_create(members, batch_size=batch)
        periods = insert_rows(MembershipPeriod, self.period_rows())
        for prospect in self.prospects:
            plan = prospect.plan
            if plan is not None:
                prospect.member = plan.member
                prospect.citizen_id = plan.member.citizen_id
                prospect.date_of_birth = plan.member.date_of_birth
        Prospect.objects.bulk_create(self.prospects, batch_size=batch)
        MassOrganization.objects.bulk_create(self.mass_organizations, batch_size=batch)
        insert_rows(MembershipReturn, self.returns_values())
        Target.objects.bulk_create(self.targets, batch_size=batch)
        versions = OrganizationVersion.objects.bulk_create(
            [
                OrganizationVersion(
                    organization=organization,
                    parent=parent,
                    name=organization.name,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    change=change,
                    decision_number=REFORM_DECISION if valid_from == REFORM else "",
                    decision_date=REFORM_DECISION_DATE if valid_from == REFORM else None,
                    end_change=end_change,
                    end_decision_number=REFORM_DECISION if end_change else "",
                    end_decision_date=REFORM_DECISION_DATE if end_change else None,
                    successor=successor,
                )
                for organization, parent, valid_from, valid_to, change, end_change, successor in self.versions
            ],
            batch_size=batch,
        )
        ManagingCommitteePeriod.objects.bulk_create(
            [
                ManagingCommitteePeriod(
                    enterprise=enterprise,
                    committee=committee,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    decision_number=REFORM_DECISION if valid_from else "",
                    decision_date=REFORM_DECISION_DATE if valid_from else None,
                )
                for enterprise, committee, valid_from, valid_to in self.committee_periods
            ],
            batch_size=batch,
        )
        LocalityVersion.objects.bulk_create(
            [
                LocalityVersion(
                    locality=locality,
                    parent=parent,
                    name=name,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    change=change,
                    decision_number=LOCALITY_REFORM_DECISION if valid_from == REFORM else "",
                    decision_date=LOCALITY_REFORM_DECISION_DATE if valid_from == REFORM else None,
                    end_change=end_change,
                    end_decision_number=LOCALITY_REFORM_DECISION if end_change else "",
                    end_decision_date=LOCALITY_REFORM_DECISION_DATE if end_change else None,
                    successor=successor,
                )
                for locality, parent, name, valid_from, valid_to, change, end_change, successor in (
                    self.locality_versions
                )
            ],
            batch_size=batch,
        )
        EnterpriseLocalityPeriod.objects.bulk_create(
            [
                EnterpriseLocalityPeriod(
                    enterprise=enterprise,
                    locality=locality,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    decision_number=LOCALITY_REFORM_DECISION if valid_from else "",
                    decision_date=LOCALITY_REFORM_DECISION_DATE if valid_from else None,
                )
                for enterprise, locality, valid_from, valid_to in self.locality_periods
            ],
            batch_size=batch,
        )
        for code, wards in self.successors.items():
            # as a split announces it: the reports carry the year's targets to the successors
            shares = tuple((ward.pk, Fraction(1, len(wards))) for ward in wards)
            publish(OrganizationSplit(self.by_code[code].pk, shares, REFORM))
        return {
            "localities": len(self.localities),
            "organizations": len(self.committees) + len(self.grassroots),
            "enterprises": len(self.enterprises),
            "members": len(members),
            "membership periods": periods,
            "prospects": len(self.prospects),
            "mass organisations": len(self.mass_organizations),
            "membership returns": len(self.returns),
            "targets": len(self.targets),
            "dated states of organisations": len(versions),
            "managing committee periods": len(self.committee_periods),
            "dated states of localities": len(self.locality_versions),
            "locality periods of enterprises": len(self.locality_periods),
        }


#: The models whose rows :func:`load` writes.
LOADED_MODELS = (
    Locality,
    Organization,
    Enterprise,
    Member,
    MembershipPeriod,
    Prospect,
    MassOrganization,
    MembershipReturn,
    Target,
)


def relative_admissions(today):
    """The admissions to Hồng Hà placed relative to the day the demo is loaded: their probation
    ends 12 to 55 days after it (they fall into the reports of the year before, or of that one)."""
    return [add_years(today, -1) + DAY * days for days in (12, 27, 41, 55)]


def is_loaded():
    return Organization.objects.filter(code="HN").exists()


@transaction.atomic
def load():
    """Build and write the demo data unless it is already there. Returns row counts, or None if skipped.

    The rows are written in bulk, with no event per record: one ``RecordsLoaded`` event at the end
    tells the subscribers (the reports recount their roll-up table once).
    """
    if is_loaded():
        return None
    builder = Builder()
    builder.build()
    counts = builder.save()
    publish(RecordsLoaded(tuple(model._meta.label for model in LOADED_MODELS)))
    if connection.vendor == "postgresql":
        # Planner statistics for the freshly loaded tables (visible inside this transaction too).
        with connection.cursor() as cursor:
            for model in LOADED_MODELS:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return counts


@transaction.atomic
def ensure_users():
    """Create the demo logins, or reset their passwords and flags where they were changed.

    Returns ``[(role, username, password), ...]``.
    """
    from branches.services import grant_role

    User = get_user_model()
    result = []
    for role, username, password, code in DEMO_USERS:
        organization = Organization.objects.get(code=code) if code else None
        user, created = User.objects.get_or_create(username=username)
        is_staff = role == RoleKey.ADMINISTRATOR
        if created or not user.check_password(password) or not user.is_active or user.is_staff != is_staff:
            user.set_password(password)
            user.is_active, user.is_staff = True, is_staff
            user.save()
        full_name, email = DEMO_PEOPLE[username]
        update_profile(None, user, full_name=full_name, email=email, email_digest=True)
        password_changed(user)  # the demo passwords are printed, not to be changed
        if not RoleAssignment.objects.filter(user=user, role=role, organization=organization).exists():
            grant_role(None, user=user, role=role, organization=organization)
        result.append((role, username, password))
    return result


def key_objects():
    """The objects tests and demos refer to, by name."""
    codes = ["HN", "QN", "QN-UB", "QN-CP", "QN-HL-CAILAN", "HN-CG-HONGHA"]
    by_code = {o.code: o for o in Organization.objects.filter(code__in=codes)}
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(username__in=[u[1] for u in DEMO_USERS])}
    return SimpleNamespace(
        hn=by_code["HN"],
        qn=by_code["QN"],
        uong_bi=by_code["QN-UB"],
        cam_pha=by_code["QN-CP"],
        cai_lan=by_code["QN-HL-CAILAN"],
        hong_ha=by_code["HN-CG-HONGHA"],
        secretary=users.get("bithu.hongha"),
        department=users.get("bantochuc.hn"),
        administrator=users.get("quantri"),
        qn_department=users.get("bantochuc.qn"),
        cai_lan_secretary=users.get("bithu.cailan"),
        passwords={username: password for _role, username, password, _code in DEMO_USERS},
    )
