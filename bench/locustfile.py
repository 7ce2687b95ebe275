"""The virtual users of ``bench/locust`` (locust, headless): department staff and secretaries.

The same mix as ``bench/load.py``: three department users for two secretaries, each pausing 1–5 s
before every action as a person reading the page does (``LOAD_THINK``, ``MIN-MAX`` seconds).
Each virtual secretary signs in with an account of its own (``load-sec-<n>``, one branch each),
so two users never save the same member at once: an edit conflict would be the optimistic lock
at work, not an error of the server.
"""

import itertools
import os
import random
import re
import sys
import threading
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import form_fields  # noqa: E402  (the same form reading as bench/load.py)

PASSWORD = os.environ.get("LOAD_PASSWORD", "load-test-password-1")
SECRETARIES = int(os.environ.get("LOAD_SECRETARIES", "60"))
THINK = [float(x) for x in (os.environ.get("LOAD_THINK", "1-5") + "-").split("-")[:2] if x] or [1.0]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

_accounts = itertools.count()
_accounts_lock = threading.Lock()


class SignedIn(HttpUser):
    abstract = True
    wait_time = between(THINK[0], THINK[-1])
    username = ""

    def on_start(self):
        page = self.client.get("/accounts/login/", name="login page")
        token = CSRF.search(page.text)
        self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": self.host + "/accounts/login/"},
            name="login",
        )


class DepartmentUser(SignedIn):
    """Organisation-department staff of Hà Nội or Quảng Ninh: the dashboard and the lists."""

    weight = 3

    def on_start(self):
        self.username = "load-dept-" + ("HN" if next(_accounts) % 2 else "QN")
        super().on_start()

    @task(35)
    def dashboard(self):
        self.client.get("/reports/", name="dashboard")

    @task(30)
    def member_list(self):
        self.client.get("/members/" + random.choice(["", "?page=2", "?status=active", "?page=5"]), name="member list")

    @task(20)
    def enterprise_list(self):
        self.client.get("/enterprises/", name="enterprise list")

    @task(15)
    def organisation_list(self):
        self.client.get("/organizations/", name="organisation list")


class SecretaryUser(SignedIn):
    """A branch secretary: opens members, and edits and saves one (a 302 to the member's page)."""

    weight = 2

    def on_start(self):
        with _accounts_lock:
            SecretaryUser.taken = getattr(SecretaryUser, "taken", -1) + 1
            self.username = f"load-sec-{SecretaryUser.taken % max(1, SECRETARIES)}"
        super().on_start()
        listing = self.client.get("/members/", name="member list").text
        self.member_ids = sorted({int(pk) for pk in re.findall(r'href="/members/(\d+)/"', listing)})

    @task(6)
    def member_detail(self):
        if self.member_ids:
            self.client.get(f"/members/{self.random_member()}/", name="member detail")

    @task(4)
    def edit_member(self):
        if not self.member_ids:
            return
        member = self.random_member()
        form = self.client.get(f"/members/{member}/edit/", name="member edit form")
        if form.status_code != 200:
            return
        with self.client.post(
            f"/members/{member}/edit/",
            data=form_fields(form.text),
            headers={"Referer": self.host + f"/members/{member}/edit/"},
            allow_redirects=False,
            name="member save",
            catch_response=True,
        ) as response:
            if response.status_code != 302:  # a 200 is the form shown again with errors
                response.failure(f"member save: {response.status_code}, expected 302")

    def random_member(self):
        return random.choice(self.member_ids)
