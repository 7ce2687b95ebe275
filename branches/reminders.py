"""The daily e-mail digest: each user gets one message listing what became due or overdue in the
organisations of their roles since their last digest (the items are :mod:`branches.deadlines`').

``python manage.py send_reminders`` runs it (daily, from a systemd timer: deploy/README.md), or
enqueues it as a task (``--enqueue``). A user receives it when they are active, have an e-mail
address, and have not switched the digest off on their profile page; it is written in their
language and sent through Django's e-mail backend (SMTP in production). An item is listed once
when it becomes due (enters the window) and once more if it becomes overdue
(:class:`branches.models.DeadlineNotice` remembers what was sent); a day with nothing new sends
nothing.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django_tasks import task

from branches.choices import RoleKey
from branches.deadlines import deadlines_for
from branches.models import DeadlineNotice, Member, Prospect, RoleAssignment
from core.dates import today
from core.models import display_name

logger = logging.getLogger(__name__)


def item_key(item):
    """What identifies an item across days: its rule, its subject and its due date."""
    return f"{item.kind}:{item.subject_kind}:{item.subject_id}:{item.due_on.isoformat()}"


def recipients():
    """Active users with an e-mail address, the digest on (or no profile yet), and a secretary's or
    department role on some organisation; with their role assignments."""
    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(preference__isnull=True) | Q(preference__email_digest=True))
        .filter(
            role_assignments__role__in=(RoleKey.SECRETARY, RoleKey.DEPARTMENT),
            role_assignments__organization__isnull=False,
        )
        .distinct()
        .select_related("preference")
        .order_by("pk")
    )


def new_items(user, on):
    """The items of the user's organisations (as they see them) not yet sent in their current state."""
    assignments = (
        RoleAssignment.objects.filter(user=user, role__in=(RoleKey.SECRETARY, RoleKey.DEPARTMENT))
        .exclude(organization=None)
        .select_related("organization")
        .order_by("organization__path")
    )
    organizations = []
    for assignment in assignments:  # the topmost of nested ones only
        if not any(assignment.organization.path.startswith(o.path) for o in organizations):
            organizations.append(assignment.organization)
    members, prospects = Member.objects.visible_to(user), Prospect.objects.visible_to(user)
    items = [
        item
        for organization in organizations
        for item in deadlines_for(organization, on, members=members, prospects=prospects)
    ]
    sent = set(DeadlineNotice.objects.filter(user=user).values_list("key", "overdue"))
    return [item for item in items if (item_key(item), item.overdue) not in sent]


def language_of(user):
    """The language the user chose for the interface, else the site's (Vietnamese)."""
    try:
        language = user.preference.language
    except ObjectDoesNotExist:
        language = ""
    return language or settings.LANGUAGE_CODE


def digest_message(user, items, on, connection=None):
    """The e-mail to ``user`` listing ``items``, written in the user's language."""
    with translation.override(language_of(user)):
        base_url = getattr(settings, "SITE_URL", "").rstrip("/")
        context = {
            "name": display_name(user),
            "on": on,
            "overdue": [item for item in items if item.overdue],
            "due": [item for item in items if not item.overdue],
            "base_url": base_url,
            "profile_url": base_url + reverse("security:profile"),
        }
        subject = _("What is due in your organisations on %(date)s") % {"date": on.strftime("%d/%m/%Y")}
        body = render_to_string("branches/email/digest.txt", context)
    return EmailMessage(subject=subject, body=body, to=[user.email], connection=connection)


def send_reminders(on=None):
    """Send each recipient their digest of ``on`` (default today); returns the number of messages sent."""
    on = on or today()
    sent = 0
    connection = get_connection()
    with connection:
        for user in recipients():
            with translation.override(language_of(user)):  # the rules are worded in the user's language
                items = new_items(user, on)
            if not items:
                continue
            with transaction.atomic():
                DeadlineNotice.objects.bulk_create(
                    [DeadlineNotice(user=user, key=item_key(item), overdue=item.overdue, sent_on=on) for item in items],
                    ignore_conflicts=True,
                )
                # Recorded only if the message leaves: a failure rolls the notices back for tomorrow.
                digest_message(user, items, on, connection=connection).send()
            sent += 1
            logger.info("digest sent user=%s items=%s", user.get_username(), len(items))
    return sent


@task()
def send_reminders_task(on=None):
    """``send_reminders`` on the task queue (``on``: an ISO date, default today)."""
    import datetime

    return send_reminders(datetime.date.fromisoformat(on) if on else None)
