"""The rules of the statutory statistics that the reports and their maintained counts share: which
period endings are moves, which leave the Party, and the columns of the new-admissions form a
member counts in (forms 1-BTCTW and 3-BTCTW, :mod:`reports.statistics`)."""

from django.utils.translation import gettext_lazy

from branches.choices import (
    ETHNICITY_FOREIGN,
    ETHNICITY_KINH,
    PeriodEndReason,
    PoliticalTheory,
    ProfessionalQualification,
)
from core.dates import age_on
from enterprises.choices import Ownership

#: Periods ended by these may continue in another organisation the same day (a move; a merger
#: or a split is never an addition or a removal of a unit that holds both organisations).
MOVE_REASONS = frozenset(
    (PeriodEndReason.TRANSFER, PeriodEndReason.DISSOLVED, PeriodEndReason.MERGED, PeriodEndReason.SPLIT)
)
LEFT_PARTY_REASONS = frozenset(
    (PeriodEndReason.RESIGNED, PeriodEndReason.EXPELLED, PeriodEndReason.STRUCK_OFF, PeriodEndReason.DIED)
)
REMOVAL_BY_REASON = {
    PeriodEndReason.DIED: "died",
    PeriodEndReason.EXPELLED: "expelled",
    PeriodEndReason.STRUCK_OFF: "struck_off",
    PeriodEndReason.RESIGNED: "resigned",
}


def is_ethnic_minority(ethnicity):
    return bool(ethnicity) and ethnicity not in (ETHNICITY_KINH, ETHNICITY_FOREIGN)


NOT_RECORDED = "not_recorded"
AGE_GROUPS = (("age_18_30", 18, 30), ("age_31_40", 31, 40), ("age_41_50", 41, 50), ("age_over_50", 51, 200))


def education_level(value):
    """``primary``, ``lower_secondary`` or ``upper_secondary`` of a general education such as
    ``9/12`` (or ``7/10`` of the ten-year system); :data:`NOT_RECORDED` when empty."""
    grade, _slash, system = (value or "").partition("/")
    if not grade.isdigit() or system not in ("10", "12"):
        return NOT_RECORDED
    grade = int(grade)
    primary, lower = (5, 9) if system == "12" else (4, 7)
    if grade <= primary:
        return "primary"
    return "lower_secondary" if grade <= lower else "upper_secondary"


def admission_groups():
    """``[(group key, group label, [(column key, column label)])]`` of the form's columns."""

    def with_unrecorded(choices):
        return [(key, label) for key, label in choices] + [(NOT_RECORDED, gettext_lazy("not recorded"))]

    return [
        (
            "of_whom",
            gettext_lazy("of whom"),
            [
                ("total", gettext_lazy("admitted")),
                ("women", gettext_lazy("women")),
                ("ethnic_minorities", gettext_lazy("ethnic minorities")),
                ("religious", gettext_lazy("religious")),
                ("youth_union", gettext_lazy("Youth Union members")),
                ("business_owners", gettext_lazy("private business owners")),
            ],
        ),
        (
            "age",
            gettext_lazy("age at admission"),
            [
                ("age_18_30", gettext_lazy("18 to 30")),
                ("age_31_40", gettext_lazy("31 to 40")),
                ("age_41_50", gettext_lazy("41 to 50")),
                ("age_over_50", gettext_lazy("over 50")),
            ],
        ),
        (
            "education",
            gettext_lazy("general education"),
            with_unrecorded(
                [
                    ("primary", gettext_lazy("primary")),
                    ("lower_secondary", gettext_lazy("lower secondary")),
                    ("upper_secondary", gettext_lazy("upper secondary")),
                ]
            ),
        ),
        (
            "qualification",
            gettext_lazy("professional qualification"),
            with_unrecorded(ProfessionalQualification.choices),
        ),
        ("political_theory", gettext_lazy("political theory"), with_unrecorded(PoliticalTheory.choices)),
        (
            "ownership",
            gettext_lazy("ownership of the workplace"),
            with_unrecorded(Ownership.choices),
        ),
    ]


def admission_columns():
    """``[(key, label)]`` of every figure column of the new-admissions form, keys ``group.column``."""
    return [
        (f"{group}.{key}", f"{group_label}: {label}" if group != "of_whom" else label)
        for group, group_label, columns in admission_groups()
        for key, label in columns
    ]


def admission_keys(member):
    keys = ["of_whom.total"]
    if member["sex"] == "female":
        keys.append("of_whom.women")
    if is_ethnic_minority(member["ethnicity"]):
        keys.append("of_whom.ethnic_minorities")
    if member["religion"] not in ("", "none"):
        keys.append("of_whom.religious")
    if member["youth_union_member_at_admission"]:
        keys.append("of_whom.youth_union")
    if member["owner_at_admission"]:
        keys.append("of_whom.business_owners")
    age = age_on(member["date_of_birth"], member["admitted_on"])
    keys.extend(f"age.{key}" for key, low, high in AGE_GROUPS if low <= age <= high)
    keys.extend(f"{group}.{column_of(member[field])}" for group, (field, column_of) in RECORDED.items())
    return keys


def as_recorded(value):
    return value or NOT_RECORDED


#: The form's groups counted by a recorded value: the field read and the column its value names
#: (the ownership of the workplace: None without a workplace enterprise).
RECORDED = {
    "education": ("general_education", education_level),
    "qualification": ("professional_qualification", as_recorded),
    "political_theory": ("political_theory", as_recorded),
    "ownership": ("enterprise__ownership", as_recorded),
}
