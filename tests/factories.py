"""factory-boy factories for every model. Tree models are created through treebeard's manager.

The factories write rows directly, so, like the services and the bulk writers, they announce
what they wrote (``branches.events``, ``enterprises.events``): the reports' roll-ups and data
version follow (tests/conftest.py checks the roll-ups after every test that wrote).
"""

import datetime
import itertools

import factory
from django.contrib.auth import get_user_model

from branches import events as branch_events
from branches.choices import MemberStatus, OrganizationKind, Position, ProspectStage, RoleKey, Sex
from branches.models import Member, MembershipPeriod, Organization, Prospect, RoleAssignment
from core.events import publish
from core.validators import tax_code_for
from enterprises import events as enterprise_events
from enterprises.choices import LocalityKind, MassOrganizationKind, OperatingStatus, Ownership, SizeClass
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn
from reports.events import TargetsChanged
from reports.metrics import Metric
from reports.models import Target

_tax_serials = itertools.count(1_000_000, 13)
_citizen_serials = itertools.count(1)


def next_tax_code():
    return tax_code_for(next(_tax_serials))


def next_citizen_id():
    return f"001{next(_citizen_serials):09d}"


class TreeFactory(factory.django.DjangoModelFactory):
    """Creates a root, or a child of ``parent`` when given."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, parent=None, **kwargs):
        instance = model_class(**kwargs)
        if parent is None:
            return model_class.objects.add_root(instance=instance)
        return model_class.objects.add_child(model_class.objects.get(pk=parent.pk), instance=instance)


class Announced(factory.django.DjangoModelFactory):
    """Publishes ``announce(instance)``'s events once the instance is created."""

    class Meta:
        abstract = True

    @classmethod
    def announce(cls, instance):
        return []

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        super()._after_postgeneration(instance, create, results)
        if create:
            for event in cls.announce(instance):
                publish(event)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class LocalityFactory(TreeFactory):
    class Meta:
        model = Locality

    code = factory.Sequence(lambda n: f"L{n:05d}")
    name = factory.Sequence(lambda n: f"Xã {n}")
    kind = LocalityKind.PROVINCE


class OrganizationFactory(TreeFactory, Announced):
    class Meta:
        model = Organization

    @classmethod
    def announce(cls, organization):
        return [branch_events.OrganizationsEstablished.of([organization])]

    code = factory.Sequence(lambda n: f"ORG-{n:05d}")
    name = factory.Sequence(lambda n: f"Đảng bộ {n}")
    kind = OrganizationKind.COMMITTEE
    locality = factory.SubFactory(LocalityFactory)
    established_on = datetime.date(2010, 1, 1)


class EnterpriseFactory(Announced):
    class Meta:
        model = Enterprise

    @classmethod
    def announce(cls, enterprise):
        return [enterprise_events.EnterprisesRecorded((enterprise.pk,))]

    tax_code = factory.LazyFunction(next_tax_code)
    name = factory.Sequence(lambda n: f"Công ty TNHH Số {n}")
    ownership = Ownership.PRIVATE
    locality = factory.SubFactory(LocalityFactory)
    size_class = SizeClass.SMALL
    employees = 50
    operating_status = OperatingStatus.OPERATING
    managing_committee = factory.SubFactory(OrganizationFactory)


class MemberFactory(Announced):
    """A member admitted by ``organization`` with one open period (pass ``periods=False`` to skip it)."""

    class Meta:
        model = Member
        skip_postgeneration_save = True

    full_name = factory.Sequence(lambda n: f"Nguyễn Văn {n}")
    sex = Sex.MALE
    date_of_birth = datetime.date(1990, 5, 17)
    citizen_id = factory.LazyFunction(next_citizen_id)
    party_card_number = factory.Sequence(lambda n: f"PC{n:08d}")
    position = Position.WORKER
    is_business_owner = False
    admitted_on = datetime.date(2020, 3, 1)
    organization = factory.SubFactory(
        OrganizationFactory, kind=OrganizationKind.GRASSROOTS_BRANCH, code=factory.Sequence(lambda n: f"BR-{n:05d}")
    )
    admitted_by = factory.SelfAttribute("organization")
    owner_at_admission = factory.SelfAttribute("is_business_owner")
    status = MemberStatus.ACTIVE

    @factory.post_generation
    def periods(self, create, extracted, **kwargs):
        if create and extracted is not False:
            MembershipPeriod.objects.create(member=self, organization=self.organization, started_on=self.admitted_on)
            publish(
                branch_events.MembershipPeriodsOpened(
                    (branch_events.Period(self.pk, self.organization_id, self.admitted_on),)
                )
            )

    @classmethod
    def announce(cls, member):
        return [branch_events.MembersAdmitted.of([member])]


class MembershipPeriodFactory(Announced):
    class Meta:
        model = MembershipPeriod

    @classmethod
    def announce(cls, period):
        announced = [
            branch_events.MembershipPeriodsOpened(
                (branch_events.Period(period.member_id, period.organization_id, period.started_on),)
            )
        ]
        if period.ended_on is not None:
            announced.append(
                branch_events.MembershipPeriodsClosed(
                    (branch_events.Period(period.member_id, period.organization_id, period.ended_on),)
                )
            )
        return announced

    member = factory.SubFactory(MemberFactory, periods=False)
    organization = factory.SelfAttribute("member.organization")
    started_on = factory.SelfAttribute("member.admitted_on")


class ProspectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prospect

    full_name = factory.Sequence(lambda n: f"Trần Thị {n}")
    sex = Sex.FEMALE
    date_of_birth = datetime.date(1995, 2, 3)
    citizen_id = factory.LazyFunction(next_citizen_id)
    organization = factory.SubFactory(
        OrganizationFactory, kind=OrganizationKind.GRASSROOTS_BRANCH, code=factory.Sequence(lambda n: f"PB-{n:05d}")
    )
    stage = ProspectStage.IDENTIFIED
    identified_on = datetime.date(2024, 1, 10)

    class Params:
        #: Dossier complete: the prospect may be admitted (from 1 March 2024).
        ready = factory.Trait(
            stage=ProspectStage.DOSSIER_COMPLETE,
            course_completed_on=datetime.date(2024, 2, 1),
            dossier_completed_on=datetime.date(2024, 3, 1),
        )


class MassOrganizationFactory(Announced):
    class Meta:
        model = MassOrganization

    @classmethod
    def announce(cls, mass_organization):
        return [enterprise_events.MassOrganizationsEstablished.of([mass_organization])]

    kind = MassOrganizationKind.TRADE_UNION
    name = factory.Sequence(lambda n: f"Công đoàn cơ sở {n}")
    enterprise = factory.SubFactory(EnterpriseFactory)
    established_on = datetime.date(2024, 3, 1)


class MembershipReturnFactory(Announced):
    class Meta:
        model = MembershipReturn

    @classmethod
    def announce(cls, membership_return):
        return [enterprise_events.MembershipReturnsRecorded.of([membership_return])]

    mass_organization = factory.SubFactory(MassOrganizationFactory)
    date = factory.SelfAttribute("mass_organization.established_on")
    members_total = 20
    members_admitted = 20
    is_founding = True


class TargetFactory(Announced):
    class Meta:
        model = Target

    @classmethod
    def announce(cls, instance):
        return [TargetsChanged(instance.year)]

    committee = factory.SubFactory(OrganizationFactory)
    year = 2024
    metric = Metric.MEMBERS_ADMITTED
    value = 10


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = RoleKey.SECRETARY
    organization = factory.SubFactory(OrganizationFactory)
