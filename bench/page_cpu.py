"""The server's CPU per request of each page kind of the load test (issue 18), beside a trivial page's.

Run it as ``.venv/bin/python bench/page_cpu.py`` over the demo data of ``bench/locust`` (database
``loadtest``, or LOAD_DATABASE_URL; run ``bench/locust --seconds 5 --levels 5`` once to prepare it).
It sets the server's environment of the load test (bench/load.py's ``environment()``: DEBUG off,
cache and sessions in Redis), signs the load accounts in (``force_login``) and sends each page
through Django's whole stack in this process (the test client: every middleware, the templates),
first a few times to warm the caches, then ``--requests`` times, and prints per page kind:

- ``app ms``: this process's CPU (``time.process_time()``) of the median request, the Django side;
- ``db ms``: the CPU of the PostgreSQL backend serving this connection (its utime + stime from
  /proc, so on the same machine only; 10 ms ticks, read over all the requests of a kind);
- ``ratio``: app + db CPU over the trivial page's (``/health/``: one query, three cache calls);
- ``queries``: SQL statements of one request (counted in a separate pass, not timed).

The load mixes three department users (dashboard, member list pages, enterprise list,
organisation list) for two secretaries (member detail, edit form, save): bench/locustfile.py.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import SERVER, environment, form_fields  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per page kind.")
    parser.add_argument("--warm", type=int, default=3, help="Untimed requests per page kind first.")
    parser.add_argument("--only", default="", help="Page kinds to measure, comma-separated (default: all).")
    parser.add_argument("--profile", default="", help="Write a cProfile of each page kind to this folder.")
    return parser.parse_args()


def backend_cpu_seconds(pid):
    """utime + stime of a PostgreSQL backend on this machine (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


class Pages:
    """The page kinds of bench/locustfile.py, each a function sending one request."""

    def __init__(self):
        from django.contrib.auth import get_user_model
        from django.test import Client

        users = get_user_model().objects
        self.department = Client(HTTP_HOST="127.0.0.1")
        self.department.force_login(users.get(username="load-dept-HN"))
        self.anonymous = Client(HTTP_HOST="127.0.0.1")
        self.secretaries = []
        for user in users.filter(username__startswith="load-sec-").order_by("pk")[:10]:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            listing = client.get("/members/").content.decode()
            members = sorted({int(pk) for pk in re.findall(r'href="/members/(\d+)/"', listing)})
            if members:
                self.secretaries.append((client, members))
        if not self.secretaries:
            sys.exit("No load-test secretary with members: run bench/locust --seconds 5 --levels 5 once.")
        self.turn = 0

    def secretary(self):
        self.turn += 1
        client, members = self.secretaries[self.turn % len(self.secretaries)]
        return client, members[(self.turn // len(self.secretaries)) % len(members)]

    def kinds(self):
        def get(client, path, expect=200):
            def send():
                response = client.get(path)
                assert response.status_code == expect, (path, response.status_code)
                return response

            return send

        def detail():
            client, member = self.secretary()
            response = client.get(f"/members/{member}/")
            assert response.status_code == 200, response.status_code

        def edit_form():
            client, member = self.secretary()
            response = client.get(f"/members/{member}/edit/")
            assert response.status_code == 200, response.status_code

        prepared = {}

        def save_prepare():
            # The form is read before the timer starts: "member save" is the POST alone.
            client, member = self.secretary()
            form = client.get(f"/members/{member}/edit/").content.decode()
            prepared["post"] = (client, f"/members/{member}/edit/", form_fields(form))

        def save():
            client, path, data = prepared["post"]
            # Encoded as a browser and bench/locustfile.py send this form (the test client's
            # default, multipart, costs the server a parser a browser never asks of it).
            response = client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded")
            assert response.status_code == 302, (path, response.status_code)

        return {
            "trivial /health/": (get(self.anonymous, "/health/"), None),
            "dashboard": (get(self.department, "/reports/"), None),
            "member list": (get(self.department, "/members/"), None),
            "member list ?page=2": (get(self.department, "/members/?page=2"), None),
            "member list ?status=active": (get(self.department, "/members/?status=active"), None),
            "member list ?page=5": (get(self.department, "/members/?page=5"), None),
            "enterprise list": (get(self.department, "/enterprises/"), None),
            "organisation list": (get(self.department, "/organizations/"), None),
            "member detail": (detail, None),
            "member edit form": (edit_form, None),
            "member save": (save, save_prepare),
        }


def measure(send, prepare, count, backend_pid):
    """CPU seconds per request: this process's (the median request: a shared machine's noise
    lengthens some requests, not the typical one) and the database backend's (a mean: its clock
    ticks by 10 ms)."""
    app = []
    db = 0.0
    for _ in range(count):
        if prepare:
            prepare()
        db_before = backend_cpu_seconds(backend_pid)
        before = time.process_time()
        send()
        app.append(time.process_time() - before)
        db_after = backend_cpu_seconds(backend_pid)
        if db_before is not None and db_after is not None:
            db += db_after - db_before
    return statistics.median(app), db / count


def count_queries(send, prepare):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if prepare:
        prepare()
    with CaptureQueriesContext(connection) as captured:
        send()
    return len(captured.captured_queries)


def main():
    args = parse_args()
    os.environ.update(
        environment(os.environ.get("LOAD_DATABASE_URL") or f"{SERVER}/loadtest", "redis://127.0.0.1:6379/14")
    )
    import django

    django.setup()
    from django.db import connection

    pages = Pages()
    kinds = pages.kinds()
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        kinds = {name: kind for name, kind in kinds.items() if name in wanted or name.startswith("trivial")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]

    results = {}
    for name, (send, prepare) in kinds.items():
        for _ in range(args.warm):
            if prepare:
                prepare()
            send()
        queries = count_queries(send, prepare)
        if args.profile:
            import cProfile

            folder = Path(args.profile)
            folder.mkdir(parents=True, exist_ok=True)
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting for the database
            for _ in range(args.requests):
                if prepare:
                    prepare()
                profiler.enable()
                send()
                profiler.disable()
            profiler.dump_stats(folder / (re.sub(r"\W+", "_", name).strip("_") + ".prof"))
        app, db = measure(send, prepare, args.requests, backend_pid)
        results[name] = (app, db, queries)

    trivial = sum(results["trivial /health/"][:2])
    print(f"{'page kind':<28} {'app ms':>8} {'db ms':>8} {'total':>8} {'ratio':>7} {'queries':>8}")
    for name, (app, db, queries) in results.items():
        total = app + db
        print(f"{name:<28} {app * 1000:8.1f} {db * 1000:8.1f} {total * 1000:8.1f} {total / trivial:7.1f} {queries:8d}")
    print(f"({args.requests} requests per kind after {args.warm} to warm; CPU per request, ratio to the trivial page)")


if __name__ == "__main__":
    main()
