"""The load test of issue 7 (run it as ``bench/load``).

Serves the demo data with gunicorn as deployed (deploy/gunicorn.conf.py) on 127.0.0.1 (its own
PostgreSQL database ``loadtest``, or LOAD_DATABASE_URL; cache and sessions in Redis), then drives
it with virtual users in threads, each with its own session: department staff reading the
dashboard and the lists, secretaries opening members and saving the edit form, each pausing
before every action as a person reading the page does (``--think``, 1-5 s by default; 0 drives
the server flat out). Every step is bounded in time and requests. It ramps the concurrency up
(default 5, 10, 20, 35, 50, 75, 100, 150 users) and prints, per level, requests/s, p50/p95/p99 and errors
(and per request), then the first concurrency whose p95 passes 200 ms.
"""

import argparse
import csv
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
PASSWORD = "load-test-password-1"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="5,10,20,35,50,75,100,150", help="Concurrency levels, comma-separated.")
    parser.add_argument("--seconds", type=float, default=30, help="Duration of each level.")
    parser.add_argument("--max-requests", type=int, default=20_000, help="Requests at most per level.")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: deploy/gunicorn.conf.py's, 2 x cores + 1)."
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (1: sync workers, as deployed)."
    )
    parser.add_argument("--port", type=int, default=0, help="Default: a free port.")
    parser.add_argument(
        "--secretaries", type=int, default=60, help="Secretary logins to create (one per secretary user at 150 users)."
    )
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/14",
        help="Redis for the server's cache and sessions, as in production (flushed first); '' for none.",
    )
    parser.add_argument(
        "--think",
        default="1-5",
        help="Seconds each virtual user pauses between two actions, drawn uniformly from MIN-MAX "
        "(a person reading the page; locust's between(1, 5)). 0 drives the server flat out.",
    )
    parser.add_argument(
        "--log", default="", help="Append every request (users, name, start, seconds, status) to this CSV file."
    )
    return parser.parse_args()


def environment(url, redis_url=""):
    env = dict(os.environ)
    if redis_url:
        # As deploy/README.md runs it: cache and sessions in Redis, shared by every worker (a
        # write in one worker invalidates the dashboard figures cached by the others).
        env["REDIS_URL"] = redis_url
    env.update(
        DATABASE_URL=url,
        DEBUG="0",
        HTTPS="0",  # plain HTTP on loopback (config/settings.py)
        OTP_REQUIRED="0",  # the documented demo switch: no TOTP for the virtual users
        ALLOWED_HOSTS="127.0.0.1,localhost",
        AXES_FAILURE_LIMIT="1000",
        DJANGO_SETTINGS_MODULE="config.settings",
        CONN_MAX_AGE="60",
    )
    return env


def prepare(url, args):
    """Create the database, migrate, load the demo, create the load-test logins."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = environment(url)
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "load_demo", "--if-empty"], cwd=ROOT, env=env, check=True)
    script = f"""
from django.contrib.auth import get_user_model
from branches.choices import GRASSROOTS_KINDS
from branches.models import Member, Organization, RoleAssignment
from branches.services import grant_role
User = get_user_model()

def login(username, role, organization):
    user, _ = User.objects.get_or_create(username=username)
    user.set_password({PASSWORD!r}); user.is_active = True; user.save()
    if not RoleAssignment.objects.filter(user=user, role=role, organization=organization).exists():
        grant_role(None, user=user, role=role, organization=organization)

for code in ("HN", "QN"):
    login(f"load-dept-{{code}}", "department", Organization.objects.get(code=code))
branches = (
    Organization.objects.filter(kind__in=GRASSROOTS_KINDS, dissolved_on__isnull=True, members__status="active")
    .distinct().order_by("path")[:{args.secretaries}]
)
for index, branch in enumerate(branches):
    login(f"load-sec-{{index}}", "secretary", branch)
print(len(branches))
"""
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url, args):
    """gunicorn as deployed (deploy/gunicorn.conf.py), on loopback, without its access log."""
    env = environment(url, args.redis)
    args.port = args.port or free_port()
    env.update(GUNICORN_BIND=f"127.0.0.1:{args.port}", GUNICORN_LOG_LEVEL="warning")
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    env["GUNICORN_THREADS"] = str(args.threads)
    # Idle connections of threaded workers stay open longer than a user thinks (as behind
    # nginx's upstream keep-alive): a request sent on a connection that the server is closing
    # at that moment fails on the client's side. Sync workers close every connection.
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "config.wsgi:application",
        "--access-logfile",
        "/dev/null",
        "--keep-alive",
        "10",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    # The task worker beside it, as deployed (large imports and exports), in a session of its own
    # (a process cannot join the group of another session); stop_server stops both.
    worker = [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "db_worker", "--no-reload"]
    if env.get("TASKS_BACKEND", "database") == "database":
        process.companions = [
            subprocess.Popen(worker, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
        ]
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(150):
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            requests.get(base + "/health/", timeout=1)
            return process, base
        except requests.RequestException:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit("gunicorn did not start")


def stop_server(process):
    for started in [process, *getattr(process, "companions", [])]:
        try:
            os.killpg(started.pid, signal.SIGTERM)  # our own process groups only
            started.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(started.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class FormParser(HTMLParser):
    """The fields of the page's own form: the first POST form with a csrf token that posts back
    to the page (no ``action``; the navbar's language, role and sign-out forms post elsewhere):
    inputs, selected options, textareas."""

    def __init__(self):
        super().__init__()
        self.fields, self.in_form, self.done, self._select, self._textarea = {}, False, False, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.done:
            return
        if tag == "form" and (attrs.get("method") or "").lower() == "post" and not attrs.get("action"):
            self.in_form, self.fields = True, {}
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self.in_form:
            self.in_form = False
            if "csrfmiddlewaretoken" in self.fields:
                self.done = True


def form_fields(html):
    parser = FormParser()
    parser.feed(html)
    return parser.fields


class Recorder:
    def __init__(self, limit):
        self.lock = threading.Lock()
        self.times, self.errors, self.limit, self.samples = [], 0, limit, {}
        self.by_name = {}
        self.log = []  # (name, started at, seconds, status), for --log

    def add(self, name, seconds, status):
        """Record one request; ``status`` is the HTTP status, or the exception's name. Any status
        of 400 or more, and any exception, is an error, counted by request and status."""
        with self.lock:
            self.times.append(seconds)
            self.log.append((name, time.monotonic() - seconds, seconds, status))
            self.by_name.setdefault(name, []).append(seconds)
            if not isinstance(status, int) or status >= 400:
                self.errors += 1
                key = f"{name} {status}"
                self.samples[key] = self.samples.get(key, 0) + 1
            return len(self.times) < self.limit


class VirtualUser:
    def __init__(self, base, username, role, recorder, rng):
        self.base, self.username, self.role, self.recorder, self.rng = base, username, role, recorder, rng
        self.session = requests.Session()
        self.member_ids = []

    def login(self):
        page = self.session.get(self.base + "/accounts/login/", timeout=30)
        token = form_fields(page.text).get("csrfmiddlewaretoken", "")
        response = self.session.post(
            self.base + "/accounts/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base + "/accounts/login/"},
            timeout=30,
        )
        if "sessionid" not in self.session.cookies:
            raise RuntimeError(f"login failed for {self.username}: {response.status_code}")
        if self.role == "secretary":
            listing = self.session.get(self.base + "/members/", timeout=30).text
            self.member_ids = sorted({int(pk) for pk in re.findall(r'href="/members/(\d+)/"', listing)})

    def request(self, name, method, path, expect=None, **kwargs):
        """One request, recorded; a status other than ``expect`` (when given) counts as an error."""
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=30, allow_redirects=False, **kwargs)
            status = response.status_code
            if expect is not None and status != expect:
                status = f"{status} (expected {expect})"
        except requests.RequestException as exc:
            response, status = None, type(exc).__name__
        return response, self.recorder.add(name, time.perf_counter() - started, status)

    def step(self):
        """One action of this user; False when the level's request budget is spent."""
        if self.role == "department":
            choice = self.rng.random()
            if choice < 0.35:
                return self.request("dashboard", "GET", "/reports/")[1]
            if choice < 0.65:
                page = self.rng.choice(["", "?page=2", "?status=active", "?page=5"])
                return self.request("member list", "GET", "/members/" + page)[1]
            if choice < 0.85:
                return self.request("enterprise list", "GET", "/enterprises/")[1]
            return self.request("organisation list", "GET", "/organizations/")[1]
        if not self.member_ids:
            return self.request("member list", "GET", "/members/")[1]
        member = self.rng.choice(self.member_ids)
        if self.rng.random() < 0.6:
            return self.request("member detail", "GET", f"/members/{member}/")[1]
        response, more = self.request("member edit form", "GET", f"/members/{member}/edit/")
        if response is None or response.status_code != 200 or not more:
            return more
        fields = form_fields(response.text)
        response, more = self.request(
            "member save",
            "POST",
            f"/members/{member}/edit/",
            expect=302,  # saved, then sent to the member's page (a 200 is the form shown again with errors)
            data=fields,
            headers={"Referer": self.base + f"/members/{member}/edit/"},
        )
        return more


def think_range(text):
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def run_level(base, users, concurrency, seconds, max_requests, rng, think=(0.0, 0.0)):
    recorder = Recorder(max_requests)
    deadline = time.monotonic() + seconds
    selected = [users[i % len(users)] for i in range(concurrency)]

    def pause(user):
        seconds = user.rng.uniform(*think)
        if seconds:
            time.sleep(min(seconds, max(0.0, deadline - time.monotonic())))

    def loop(user):
        # Each user starts after a pause of its own, as people do: without it, every user of the
        # level sends its first request at the same instant, and that one burst of 50 requests,
        # not the steady load, sets the level's p95.
        pause(user)
        while time.monotonic() < deadline:
            if not user.step():
                return
            pause(user)

    threads = []
    started = time.monotonic()
    for user in selected:
        user.recorder = recorder
        thread = threading.Thread(target=loop, args=(user,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    times = sorted(recorder.times)
    if not times:
        return None

    def pct(p, values=times):
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000

    return {
        "log": [(concurrency, name, at - started, seconds, status) for name, at, seconds, status in recorder.log],
        "users": concurrency,
        "requests": len(times),
        "rps": len(times) / elapsed,
        "p50": statistics.median(times) * 1000,
        "p95": pct(95),
        "p99": pct(99),
        "errors": recorder.errors,
        "error_samples": dict(recorder.samples),
        "by_name": {
            name: (statistics.median(values) * 1000, pct(95, sorted(values)), len(values))
            for name, values in sorted(recorder.by_name.items())
        },
    }


def main():
    args = parse_args()
    url = os.environ.get("LOAD_DATABASE_URL") or f"{SERVER}/loadtest"
    print(f"# preparing {url.rsplit('/', 1)[1]} (migrate, demo data, logins)", flush=True)
    secretaries = prepare(url, args)
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()  # a database of its own: no session or figure of before
    process, base = start_server(url, args)
    workers = args.workers or f"{os.cpu_count() * 2 + 1} (2 x cores + 1)"
    print(f"# gunicorn on {base}: {workers} workers x {args.threads} threads; think {args.think} s", flush=True)
    rng = random.Random(3)
    try:
        levels = [int(x) for x in args.levels.split(",")]
        users = []
        # 60% department staff, 40% secretaries; every virtual user logs in once.
        # Each secretary user has a branch of their own (while there are enough accounts), so
        # two users do not save the same member at the same moment (that refusal is a conflict
        # of the optimistic lock, not an error of the server).
        secretary_users = 0
        for index in range(max(levels)):
            if index % 5 < 3:
                username, role = ("load-dept-HN" if index % 2 else "load-dept-QN"), "department"
            else:
                username, role = f"load-sec-{secretary_users % max(1, secretaries)}", "secretary"
                secretary_users += 1
            user = VirtualUser(base, username, role, None, random.Random(index))
            user.login()
            users.append(user)
        print(f"# {len(users)} virtual users logged in ({secretaries} secretary accounts)", flush=True)
        results = []
        for level in levels:
            result = run_level(base, users, level, args.seconds, args.max_requests, rng, think_range(args.think))
            results.append(result)
            if args.log:
                with open(args.log, "a", newline="") as log:
                    csv.writer(log).writerows(result["log"])
            print(
                f"users={result['users']} requests={result['requests']} rps={result['rps']:.1f} "
                f"p50={result['p50']:.0f}ms p95={result['p95']:.0f}ms p99={result['p99']:.0f}ms "
                f"errors={result['errors']}" + (f" {result['error_samples']}" if result["errors"] else ""),
                flush=True,
            )
            by_name = ", ".join(
                f"{name} {median:.0f}/{p95:.0f} ({n})" for name, (median, p95, n) in result["by_name"].items()
            )
            print(f"#   by request, median/p95 ms (requests): {by_name}", flush=True)
        passing = next((r["users"] for r in results if r["p95"] > 200), None)
        never = f"never (up to {max(levels)} users)"
        print(f"p95_over_200ms_at_users={passing if passing is not None else never}")
    finally:
        stop_server(process)


if __name__ == "__main__":
    sys.exit(main())
