"""``manage.py grant_role USERNAME ROLE ORG_CODE [--password PASSWORD] [--token]``.

Creates the user if absent, gives them the role over the organisation's subtree (through
``branches.services.grant_role``) and, with ``--token``, issues a new API token and prints it alone
on the last line, so a script can capture it: ``TOKEN=$(manage.py grant_role ... --token | tail -n 1)``.
An account that must use two-factor authentication gets no token here (it asks the token endpoint
with its code). For the administrator role ORG_CODE may be ``-``. Running it again is harmless.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from branches import services
from branches.choices import RoleKey
from branches.models import Organization, RoleAssignment
from security.access import issue_token, otp_required_for


def _messages(exc):
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create a user if absent and grant them a role over an organisation (ORG_CODE '-' for administrators)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=RoleKey.values)
        parser.add_argument("org_code", help="Code of the organisation; '-' for the administrator role.")
        parser.add_argument("--password", help="Set this password (on a new or an existing user).")
        parser.add_argument("--token", action="store_true", help="Issue a new API token and print it on the last line.")

    def handle(self, *args, username, role, org_code, password=None, token=False, **options):
        try:
            with transaction.atomic():
                user, assignment = self._grant(username, role, org_code, password)
                key = None
                if token:
                    if otp_required_for(user):
                        raise CommandError(
                            f"{username} must use two-factor authentication: they ask for a token at "
                            "/api/v1/auth/token/ with their code."
                        )
                    key = issue_token(user, second_factor=False)[1]
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        where = assignment.organization.code if assignment.organization_id else "everything"
        self.stdout.write(f"{user.username}: {assignment.get_role_display()} ({role}) over {where}")
        if key:
            self.stdout.write(key)

    def _grant(self, username, role, org_code, password):
        organization = None
        if org_code != "-":
            organization = Organization.objects.filter(code=org_code).first()
            if organization is None:
                raise CommandError(f"No organisation has the code {org_code!r}.")
        elif role != RoleKey.ADMINISTRATOR:
            raise CommandError("This role needs an organisation code.")
        if role == RoleKey.ADMINISTRATOR:
            organization = None
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username)
            User._meta.get_field("username").run_validators(username)
        if password is not None:
            validate_password(password, user)
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        if created or password is not None:
            user.save()
        assignment = RoleAssignment.objects.filter(user=user, role=role, organization=organization).first()
        if assignment is None:
            assignment = services.grant_role(None, user=user, role=role, organization=organization)
        elif not created:
            self.stderr.write(f"{username} already holds this role.")
        return user, assignment
