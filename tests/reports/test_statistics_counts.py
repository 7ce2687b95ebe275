"""The statistics roll-up's counts of facts (``reports.rollups.statistics.counts_of_facts``)."""

import datetime
import random
from collections import defaultdict

import pytest

from reports.rollups.statistics import _BIT_OF, ADMISSION, ADMISSION_KEYS, counts_of_facts


def counts_one_fact_at_a_time(facts, sign=1):
    """What ``counts_of_facts`` must give: each fact read alone, each admission's bits one by one."""
    counts = defaultdict(int)
    for _member, organization_id, month, metric, value in facts:
        if metric == ADMISSION:
            for key in ADMISSION_KEYS:
                if value & _BIT_OF[key]:
                    counts[(organization_id, month, f"ad.{key}")] += sign
        else:
            counts[(organization_id, month, metric)] += sign * value
    return counts


@pytest.mark.parametrize("sign", [1, -1])
def test_admissions_grouped_before_their_bits_are_spread_count_as_one_at_a_time(sign):
    rng = random.Random(7)
    bits = list(_BIT_OF.values())
    patterns = [0, *(sum(rng.sample(bits, rng.randint(1, 6))) for _ in range(12))]
    months = [datetime.date(2024, month, 1) for month in (1, 2, 7)]
    facts = []
    for member in range(3000):
        organization, month = rng.choice((11, 12, 13)), rng.choice(months)
        facts.append((member, organization, month, ADMISSION, rng.choice(patterns)))
        facts.append((member, organization, month, rng.choice(("mv.admitted", "mv.transferred_in")), 1))
    counts = counts_of_facts(facts, sign)
    assert dict(counts) == dict(counts_one_fact_at_a_time(facts, sign))
    assert max(abs(n) for n in counts.values()) > 1  # the facts share groups
    metrics = {metric for _o, _m, metric in counts}
    assert "mv.admitted" in metrics and len({m for m in metrics if m.startswith("ad.")}) > 6


@pytest.mark.django_db
def test_the_values_of_members_as_written_are_those_read_back(tree):
    """An import's event carries its new members (``MembersAdmitted.members``): what the reports
    take from them is what they would read back, the enterprise's ownership included, whether the
    enterprise is cached on the member, only its id is known, or there is none."""
    from branches.models import Member
    from enterprises.choices import Ownership
    from reports.rollups.statistics import member_values, values_of_members
    from tests.factories import EnterpriseFactory, MemberFactory

    foreign = EnterpriseFactory(ownership=Ownership.FOREIGN_INVESTED)
    joint_stock = EnterpriseFactory(ownership=Ownership.JOINT_STOCK)
    members = [
        MemberFactory(organization=tree.branch_a, enterprise=foreign, sex="female", is_business_owner=True),
        MemberFactory(organization=tree.branch_a, enterprise=joint_stock, official_on=datetime.date(2021, 3, 1)),
        MemberFactory(organization=tree.branch_b, enterprise=None, date_of_birth=datetime.date(2001, 2, 3)),
    ]
    uncached = Member.objects.get(pk=members[1].pk)  # its enterprise known by id only
    also = ("is_business_owner", "enterprise_id")
    carried = values_of_members([members[0], uncached, members[2]], *also)
    read = sorted(member_values([m.pk for m in members], *also), key=lambda row: row["pk"])
    assert carried == read
    assert [row["enterprise__ownership"] for row in carried] == [
        Ownership.FOREIGN_INVESTED,
        Ownership.JOINT_STOCK,
        None,
    ]
