"""The read replica against a real PostgreSQL standby (issue 18, deploy/README.md § 3 item 3).

A fresh primary cluster and a streaming standby of it (tests/pg_clusters.py) run on ports of
their own; the app runs in a process of its own (tests/replica_driver.py) with ``DATABASE_URL``
pointing at the primary and ``DATABASE_REPLICA_URL`` at the standby, as deployed. Which server
answered is read from the servers themselves: each logs every statement it runs, and data written
while the standby's replay is paused is visible on one server and not on the other. Nothing of
the router is mocked.

Runs only when the suite runs on PostgreSQL (``postgresql`` marker, tests/conftest.py); it needs
the PostgreSQL 15 server programs (``PG_BIN``, default /usr/lib/postgresql/15/bin).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reports.metrics import Metric
from tests.pg_clusters import Pair

#: ``xdist_group``: one worker runs the whole module, so one pair of clusters serves it (with
#: ``--dist loadgroup``, as .ci/run runs the suite; other distributions just start more pairs).
pytestmark = [pytest.mark.postgresql, pytest.mark.xdist_group("replica")]

REPO = Path(__file__).resolve().parents[2]
YEAR = 2025
FULFILMENT = f"/api/v1/reports/fulfilment/?organization=DIST&year={YEAR}"
DASHBOARD = f"/reports/?organization=DIST&year={YEAR}"
#: Tables of sign-in state: never read from the standby.
SIGN_IN_TABLES = (
    '"django_session"',
    '"auth_user"',
    '"security_apitoken"',  # API tokens, and the record of their uses
    '"otp_totp_',
    '"axes_',
    '"branches_roleassignment"',  # who may read which reports
)
#: The only tables a report request reads on the primary: its sign-in state.
SIGN_IN_TABLE_NAMES = {
    "django_session",
    "auth_user",
    "security_apitoken",
    "security_apitokenuse",
    "otp_totp_totpdevice",
    "branches_roleassignment",
}
#: The scope's one look at the tree (does the user's scope cover every root?) is sign-in state too:
#: the scope is computed before the report starts (two-factor asks it), on the primary. It reads the
#: roots (``core.scoping``, kept per structure version in each process, so only when the process
#: has not kept them: not when the standby lagged as they were read), or asked in one query before.
SCOPE_ROOTS_CHECK = re.compile(
    r'^SELECT (1 AS "a"|"branches_organization"\."path" AS "path") FROM "branches_organization" '
    r'WHERE \(?"branches_organization"\."depth" = 1 '
)
#: What a read-only session sends (the counts run in transactions with more room to sort).
READ_ONLY = {"SELECT", "WITH", "SET", "SHOW", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
#: The roll-ups the reports count from.
REPORT_TABLES = ('"reports_rollup"',)


@pytest.fixture(scope="module")
def pair():
    pair = Pair()
    try:
        pair.start()
        pair.primary.query("CREATE DATABASE party")
        pair.wait_for_replay()
        yield pair
    finally:
        pair.stop()


class App:
    """The driver process; ``app(op, **fields)`` sends one command and returns its answer."""

    def __init__(self, env):
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "replica_driver.py")],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __call__(self, op, **fields):
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the driver process ended"
        answer = json.loads(line)
        assert answer.pop("ok"), answer["error"]
        return answer

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def app(pair):
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_REPLICA_URL")}
    env.update(
        DATABASE_URL=pair.primary.url("party"),
        DATABASE_REPLICA_URL=pair.standby.url("party"),
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_TESTING="1",  # plain HTTP for the test client
        OTP_REQUIRED="0",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=REPO, env=env, check=True, timeout=120
    )
    app = App(env)
    try:
        app("seed")
        pair.wait_for_replay()
        yield app
    finally:
        app.close()


# Reading the servers' logs ------------------------------------------------------------------

_ENTRY = re.compile(r"^(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] )", re.M)
_STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)", re.S)


def statements(server, offset):
    """The statements ``server`` logged since ``offset`` (a size of its log file)."""
    found = []
    for entry in _ENTRY.split(server.log_since(offset)):
        match = _STATEMENT.search(entry)
        if match:
            found.append(match.group(1).strip())
    return found


def observed(pair, app, op, **fields):
    """``app(op, **fields)`` and the statements each server ran meanwhile: ``(answer, primary, standby)``."""
    offsets = pair.primary.log_size(), pair.standby.log_size()
    answer = app(op, **fields)
    return answer, statements(pair.primary, offsets[0]), statements(pair.standby, offsets[1])


def mentioning(sqls, tables):
    return [sql for sql in sqls if any(table in sql for table in tables)]


def tables_read(sqls):
    """The tables the ``SELECT`` statements among ``sqls`` read from (joined tables aside)."""
    return {table for sql in sqls if sql.startswith("SELECT") for table in re.findall(r'\bFROM "(\w+)"', sql)}


def target_of(report, code, metric=Metric.MEMBERS_ADMITTED):
    part = next(part for part in report["children"] if part["organization"]["code"] == code)
    return next(row for row in part["rows"] if row["metric"] == metric)["target"]


def members_on_dashboard(html):
    match = re.search(r'<tr data-metric="members">.*?<td[^>]*>([^<]*)</td>', html, re.S)
    assert match, "the dashboard shows no member count"
    return int(match.group(1).replace(",", "").replace(".", ""))


def set_target(app, value):
    payload = {"committee": "SUB", "year": YEAR, "metric": Metric.MEMBERS_ADMITTED, "value": value}
    response = app("request", method="POST", path="/api/v1/targets/", data=payload, api=True)
    assert response["status"] in (200, 201), response["body"]


# Tests --------------------------------------------------------------------------------------


def test_the_aliases_reach_the_primary_and_the_standby(pair, app):
    assert app("servers") == {
        "default": {"port": pair.primary.port, "standby": False},
        "replica": {"port": pair.standby.port, "standby": True},
    }


@pytest.mark.parametrize(
    ("path", "api", "sign_in_tables"),
    [
        (FULFILMENT, True, ('"security_apitoken"', '"auth_user"')),
        (DASHBOARD, False, ('"django_session"', '"auth_user"')),
        (f"/reports/fulfilment/export/?organization=DIST&year={YEAR}&format=csv", False, ('"django_session"',)),
    ],
    ids=["fulfilment-api", "dashboard", "export"],
)
def test_reports_read_from_the_standby_and_sign_in_state_from_the_primary(pair, app, path, api, sign_in_tables):
    response, on_primary, on_standby = observed(pair, app, "request", path=path, api=api)
    assert response["status"] == 200, response["body"][:2000]
    assert mentioning(on_standby, REPORT_TABLES), on_standby
    report_on_primary = [sql for sql in on_primary if not SCOPE_ROOTS_CHECK.match(sql)]
    assert tables_read(report_on_primary) <= SIGN_IN_TABLE_NAMES, on_primary  # and the report reads none there
    assert not [sql for sql in on_standby if sql.split()[0].upper() not in READ_ONLY], on_standby
    assert not mentioning(on_standby, SIGN_IN_TABLES), on_standby
    for table in sign_in_tables:
        assert mentioning(on_primary, (table,)), (table, on_primary)


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/organizations/", False),
        ("/organizations/tree/", False),
        ("/members/", False),
        (f"/reports/targets/?organization=DIST&year={YEAR}", False),
        ("/api/v1/targets/", True),
        ("/api/v1/members/", True),
    ],
)
def test_ordinary_pages_read_from_the_primary_only(pair, app, path, api):
    response, on_primary, on_standby = observed(pair, app, "request", path=path, api=api)
    assert response["status"] == 200, response["body"][:2000]
    assert on_primary
    assert on_standby == []


def test_writes_go_to_the_primary_only(pair, app):
    payload = {"committee": "SUB", "year": YEAR, "metric": Metric.TRADE_UNIONS_ESTABLISHED, "value": 3}
    response, on_primary, on_standby = observed(
        pair, app, "request", method="POST", path="/api/v1/targets/", data=payload, api=True
    )
    assert response["status"] in (200, 201), response["body"]
    assert mentioning(on_primary, ('INSERT INTO "reports_target"', 'UPDATE "reports_target"'))
    assert on_standby == []


def test_reports_lag_while_replay_is_paused_and_catch_up_after(pair, app):
    set_target(app, 10)
    pair.wait_for_replay()
    assert target_of(app("request", path=FULFILMENT, api=True)["json"], "SUB") == 10
    members = members_on_dashboard(app("request", path=DASHBOARD)["body"])

    pair.pause_replay()
    try:
        set_target(app, 25)
        app("member", organization="BR-A")
        pair.wait_for_receipt()  # the standby has the writes; it has not replayed them
        assert pair.standby.query("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")
        # The reports show the data as of the last replayed transaction ...
        assert target_of(app("request", path=FULFILMENT, api=True)["json"], "SUB") == 10
        assert members_on_dashboard(app("request", path=DASHBOARD)["body"]) == members
        # ... while every other page shows what was just saved.
        targets = app("request", path=f"/api/v1/targets/?year={YEAR}&metric={Metric.MEMBERS_ADMITTED}", api=True)
        assert [target["value"] for target in targets["json"]["results"]] == [25]
    finally:
        pair.resume_replay()
    pair.wait_for_replay()

    assert target_of(app("request", path=FULFILMENT, api=True)["json"], "SUB") == 25
    assert members_on_dashboard(app("request", path=DASHBOARD)["body"]) == members + 1
