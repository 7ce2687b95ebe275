from django.db import models
from django.utils.translation import gettext_lazy as _


class LocalityKind(models.TextChoices):
    PROVINCE = "province", _("province / centrally-run city")
    DISTRICT = "district", _("district / town / provincial city")
    COMMUNE = "commune", _("commune")
    WARD = "ward", _("ward")
    SPECIAL_ZONE = "special_zone", _("special zone")


class LocalityChange(models.TextChoices):
    """What began (or ended) a dated state of a locality."""

    ESTABLISHED = "established", _("established")
    RENAMED = "renamed", _("renamed")
    MOVED = "moved", _("moved")
    MERGED = "merged", _("merged")
    ABOLISHED = "abolished", _("abolished")


class Ownership(models.TextChoices):
    PRIVATE = "private", _("private domestic")
    JOINT_STOCK = "joint_stock", _("joint-stock")
    FOREIGN_INVESTED = "foreign_invested", _("foreign-invested")
    COOPERATIVE = "cooperative", _("cooperative")
    NON_PUBLIC_EDUCATION = "non_public_education", _("non-public education establishment")
    NON_PUBLIC_HEALTH = "non_public_health", _("non-public health establishment")


class SizeClass(models.TextChoices):
    MICRO = "micro", _("micro")
    SMALL = "small", _("small")
    MEDIUM = "medium", _("medium")
    LARGE = "large", _("large")


class OperatingStatus(models.TextChoices):
    OPERATING = "operating", _("operating")
    NOT_OPERATING = "not_operating", _("registered but not operating")
    SUSPENDED = "suspended", _("suspended")
    CEASED = "ceased", _("ceased")


class MassOrganizationKind(models.TextChoices):
    TRADE_UNION = "trade_union", _("trade union")
    YOUTH_UNION = "youth_union", _("youth union")
    WOMENS_UNION = "womens_union", _("women's union")
    VETERANS_ASSOCIATION = "veterans_association", _("veterans' association")
