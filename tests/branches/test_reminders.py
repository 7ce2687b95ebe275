"""The e-mail digest end to end: ``send_reminders`` through a real SMTP server (aiosmtpd) started by
the test: who receives it, in which language, what it says, and who does not."""

import datetime
import email
import email.policy
import io
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command

from branches.models import DeadlineNotice
from core.workdays import forget_calendar
from security.services import update_profile
from tests.factories import MemberFactory

D = datetime.date


class _Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_USE_TLS = False
    settings.SITE_URL = "https://party.example.org"
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


def _profile(user, full_name, email_address, *, language="", digest=True):
    profile = update_profile(None, user, full_name=full_name, email=email_address, email_digest=digest)
    profile.language = language
    profile.save(update_fields=["language"])


@pytest.fixture
def people(tree, secretary_a, secretary_b, department):
    _profile(secretary_a, "Nguyễn Thị Hằng", "hang@chibo-a.example", language="vi")
    _profile(department, "John Tran", "john@bantochuc.example", language="en")
    _profile(secretary_b, "Lê Văn Bình", "binh@chibo-b.example", digest=False)
    MemberFactory(organization=tree.branch_a, full_name="Phạm Văn Lễ", admitted_on=D(2025, 1, 17))
    MemberFactory(organization=tree.branch_b, full_name="Đỗ Thị Bê", admitted_on=D(2025, 1, 20))
    return tree


def _by_recipient(inbox):
    return {recipients[0]: message for recipients, message in inbox.messages}


def test_digest_reaches_each_user_in_their_language_and_not_those_who_opted_out(smtp, people):
    out = io.StringIO()
    call_command("send_reminders", "--date", "2025-03-01", stdout=out)
    assert "2 digest(s) sent" in out.getvalue()
    messages = _by_recipient(smtp)
    assert set(messages) == {"hang@chibo-a.example", "john@bantochuc.example"}  # not Bình: digest off

    vi = messages["hang@chibo-a.example"]
    assert vi["Subject"].strip() == "Việc đến hạn trong tổ chức của bạn ngày 01/03/2025"
    body = vi.get_content()
    assert "Xin chào Nguyễn Thị Hằng" in body
    assert "Phạm Văn Lễ (BR-A)" in body and "Đỗ Thị Bê" not in body  # only her branch
    assert "Tổ chức lễ kết nạp trong 30 ngày làm việc" in body
    assert "07/03/2025" in body
    assert "https://party.example.org/security/profile/" in body

    en = messages["john@bantochuc.example"]
    assert en["Subject"].strip() == "What is due in your organisations on 01/03/2025"
    body = en.get_content()
    assert "Hello John Tran" in body
    assert "Phạm Văn Lễ (BR-A)" in body and "Đỗ Thị Bê (BR-B)" in body  # the whole committee
    assert "Admission ceremony within 30 working days" in body


def test_nothing_new_sends_nothing_and_an_item_becoming_overdue_is_sent_once_more(smtp, people):
    call_command("send_reminders", "--date", "2025-03-01", stdout=io.StringIO())
    smtp.messages.clear()
    call_command("send_reminders", "--date", "2025-03-02", stdout=io.StringIO())
    assert smtp.messages == []

    call_command("send_reminders", "--date", "2025-03-10", stdout=io.StringIO())  # 7 March has passed
    body = _by_recipient(smtp)["hang@chibo-a.example"].get_content()
    assert "Quá hạn" in body and "Phạm Văn Lễ" in body
    assert DeadlineNotice.objects.filter(overdue=True).exists()


def test_enqueued_digest_is_sent_by_the_task(smtp, people):
    out = io.StringIO()
    call_command("send_reminders", "--date", "2025-03-01", "--enqueue", stdout=out)  # immediate backend
    assert "Enqueued" in out.getvalue()
    assert {recipients[0] for recipients, _message in smtp.messages} == {
        "hang@chibo-a.example",
        "john@bantochuc.example",
    }


def test_a_failed_delivery_is_tried_again_next_time(settings, people):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    with pytest.raises(OSError):
        call_command("send_reminders", "--date", "2025-03-01", stdout=io.StringIO())
    assert not DeadlineNotice.objects.exists()
