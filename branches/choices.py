from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    COMMITTEE = "committee", _("committee above grassroots level")
    GRASSROOTS_COMMITTEE = "grassroots_committee", _("grassroots Party committee")
    GRASSROOTS_BRANCH = "grassroots_branch", _("grassroots Party branch")
    SUBORDINATE_BRANCH = "subordinate_branch", _("subordinate branch")


#: Kinds that count as "Party organisations established" (rule 3: grassroots and subordinate).
GRASSROOTS_KINDS = (
    OrganizationKind.GRASSROOTS_COMMITTEE,
    OrganizationKind.GRASSROOTS_BRANCH,
    OrganizationKind.SUBORDINATE_BRANCH,
)

#: The kind a parent must have, per kind of child (None: may be a root).
ALLOWED_PARENT_KINDS = {
    OrganizationKind.COMMITTEE: {None, OrganizationKind.COMMITTEE},
    OrganizationKind.GRASSROOTS_COMMITTEE: {OrganizationKind.COMMITTEE},
    OrganizationKind.GRASSROOTS_BRANCH: {OrganizationKind.COMMITTEE},
    OrganizationKind.SUBORDINATE_BRANCH: {OrganizationKind.GRASSROOTS_COMMITTEE},
}


class RoleKey(models.TextChoices):
    SECRETARY = "secretary", _("branch secretary")
    DEPARTMENT = "department", _("organisation-department staff")
    ADMINISTRATOR = "administrator", _("administrator")


class Sex(models.TextChoices):
    MALE = "male", _("male")
    FEMALE = "female", _("female")


class Position(models.TextChoices):
    OWNER = "owner", _("owner")
    MANAGER = "manager", _("manager")
    TECHNICAL = "technical", _("technical staff")
    WORKER = "worker", _("worker")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    TRANSFERRED_TO_RESIDENCE = "transferred_to_residence", _("transferred to place of residence")
    LEFT = "left", _("left the Party")


class PeriodEndReason(models.TextChoices):
    TRANSFER = "transfer", _("transferred to another organisation")
    RESIDENCE = "residence", _("transferred to place of residence")
    DISSOLVED = "dissolved", _("branch dissolved")
    RESIGNED = "resigned", _("resigned")
    EXPELLED = "expelled", _("expelled")
    STRUCK_OFF = "struck_off", _("struck off")
    DIED = "died", _("died")
    MERGED = "merged", _("organisation merged")


class OrganizationChange(models.TextChoices):
    """What began (or ended) a dated state of an organisation."""

    ESTABLISHED = "established", _("established")
    RENAMED = "renamed", _("renamed")
    MOVED = "moved", _("moved")
    MERGED = "merged", _("merged")
    SPLIT = "split", _("split")
    DISSOLVED = "dissolved", _("dissolved")


#: Reasons that end a membership altogether (record_leaving).
LEAVING_REASONS = (
    PeriodEndReason.RESIGNED,
    PeriodEndReason.EXPELLED,
    PeriodEndReason.STRUCK_OFF,
    PeriodEndReason.DIED,
)


class ProspectStage(models.TextChoices):
    IDENTIFIED = "identified", _("identified")
    COURSE_DONE = "course_done", _("awareness course done")
    DOSSIER_COMPLETE = "dossier_complete", _("dossier complete")
    ADMITTED = "admitted", _("admitted")
    WITHDRAWN = "withdrawn", _("withdrawn or left the enterprise")


#: Stages a prospect can still move between (the last two are final).
OPEN_PROSPECT_STAGES = (ProspectStage.IDENTIFIED, ProspectStage.COURSE_DONE, ProspectStage.DOSSIER_COMPLETE)
