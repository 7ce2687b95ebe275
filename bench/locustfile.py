"""The virtual users of ``bench/locust`` (locust, headless): department staff and secretaries.

The same mix as ``bench/load.py``: three department users for two secretaries, each pausing 1–5 s
before every action as a person reading the page does (``LOAD_THINK``, ``MIN-MAX`` seconds).
Each virtual secretary signs in with an account of its own (``load-sec-<n>``, one branch each),
so two users never save the same member at once: an edit conflict would be the optimistic lock
at work, not an error of the server.
"""

import itertools
import json
import os
import random
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, between, events, task
from requests.cookies import create_cookie

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import VirtualUser, form_fields  # noqa: E402  (the same sign-in and form reading as bench/load.py)

SECRETARIES = int(os.environ.get("LOAD_SECRETARIES", "60"))
THINK = [float(x) for x in (os.environ.get("LOAD_THINK", "1-5") + "-").split("-")[:2] if x] or [1.0]
_accounts = itertools.count()
_accounts_lock = threading.Lock()


def _sessions():
    """The sessions ``bench/locust`` signed in once before the levels (``LOAD_SESSIONS``, a JSON
    file: per account its cookies and, for a secretary, the members of its list)."""
    path = os.environ.get("LOAD_SESSIONS")
    if not path:
        return {}
    with open(path) as stored:
        return json.load(stored)


SESSIONS = _sessions()


def _request_log():
    """Every request's start, time and outcome, one line each, for ``bench/locust`` to compute its
    figures from (``LOAD_REQUEST_LOG``): exact percentiles over the requests of the window it
    measures, where locust's CSV rounds them and counts the whole run, users' spawning included."""
    path = os.environ.get("LOAD_REQUEST_LOG")
    if not path:
        return
    log = open(path, "w", buffering=1 << 16)  # open for the process's life

    @events.request.add_listener
    def record(request_type, name, response_time, response_length, exception=None, start_time=None, **kwargs):
        log.write(f"{start_time:.4f}\t{response_time:.2f}\t{int(exception is not None)}\t{name}\n")

    @events.quitting.add_listener
    def close(**kwargs):
        log.close()


_request_log()


class SignedIn(FastHttpUser):
    """A user signed in before its first action, outside the figures. The runner signs every
    account in once before the levels: signing in hashes a password (hundreds of milliseconds of
    the server's CPU), which is not what a person does all day, and a level starting two hundred
    users would otherwise spend its first seconds hashing.

    Locust's ``FastHttpUser`` (geventhttpclient): its requests cost the load generator, which shares
    the server's two cores, several times less CPU than ``HttpUser``'s (python-requests)."""

    abstract = True
    wait_time = between(THINK[0], THINK[-1])
    role = ""

    def sign_in(self, username):
        if username in SESSIONS:
            cookies, self.member_ids = SESSIONS[username]["cookies"], SESSIONS[username]["member_ids"]
        else:
            user = VirtualUser(self.host, username, self.role, None, random.Random(username))
            user.login()
            cookies, self.member_ids = user.session.cookies.get_dict(), user.member_ids
        host = urlsplit(self.host).hostname
        for name, value in cookies.items():
            self.client.cookiejar.set_cookie(create_cookie(name, value, domain=host))


class DepartmentUser(SignedIn):
    """Organisation-department staff of Hà Nội or Quảng Ninh: the dashboard and the lists."""

    weight = 3
    role = "department"

    def on_start(self):
        self.sign_in("load-dept-" + ("HN" if next(_accounts) % 2 else "QN"))

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
    role = "secretary"

    def on_start(self):
        with _accounts_lock:
            SecretaryUser.taken = getattr(SecretaryUser, "taken", -1) + 1
            account = SecretaryUser.taken % max(1, SECRETARIES)
        self.sign_in(f"load-sec-{account}")

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
