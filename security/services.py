"""Writes to a user's profile: the full name, the e-mail address, the digest setting and the flag
that makes a user change a password an administrator set (``core.models.UserPreference``)."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from core.models import UserPreference
from core.services import Errors


def profile_of(user):
    """The user's profile row (created empty on first use)."""
    try:
        return user.preference
    except UserPreference.DoesNotExist:
        return UserPreference.objects.create(user=user)


def require_password_change(user):
    """An administrator set ``user``'s password: its owner must change it at their next sign-in."""
    UserPreference.objects.update_or_create(user=user, defaults={"password_change_required": True})


def password_changed(user):
    """The owner chose a new password: nothing more is asked of them."""
    UserPreference.objects.filter(user=user, password_change_required=True).update(password_change_required=False)


def must_change_password(user):
    """Whether ``user`` must change their password before anything else."""
    return UserPreference.objects.filter(user=user, password_change_required=True).exists()


@transaction.atomic
def update_profile(acting_user, user, *, full_name, email, email_digest):
    """Set ``user``'s full name, e-mail address and digest setting (the user themself or an
    administrator: the views decide who). Every refusal is at its field."""
    errors = Errors()
    full_name = " ".join((full_name or "").split())
    email = (email or "").strip()
    if not full_name:
        errors.add("full_name", _("Give your full name as it is written on your papers."))
    elif len(full_name) > 200:
        errors.add("full_name", _("A full name has at most 200 characters."))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("email", _("Enter a valid e-mail address, e.g. ten@donvi.vn."))
    if email_digest and not email:
        errors.add("email", _("The daily digest is sent by e-mail: give an address or switch the digest off."))
    errors.raise_if_any()
    profile = profile_of(user)
    profile.full_name = full_name
    profile.email_digest = bool(email_digest)
    profile.save(update_fields=["full_name", "email_digest"])
    if user.email != email:
        user.email = email
        user.save(update_fields=["email"])
    return profile
