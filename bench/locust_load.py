"""The load test driven by locust in headless mode (run it as ``bench/locust``).

Prepares the database and serves it with gunicorn exactly as ``bench/load.py`` does (its
``prepare`` and ``start_server``), then, for each concurrency level, runs locust headless in a
process of its own (``bench/locustfile.py``: the users as classes, three department users for two
secretaries, think times of 1–5 s, one secretary account per virtual secretary). The users spawn
over five seconds, then the level runs ``--seconds`` with all of them. Per level it prints, over the
requests started in that window, requests/s, the exact p50/p95/p99 and failures (from a log of
every request, not locust's rounded percentiles), then the p95 of the spawning apart, and at the end
the first level whose p95 passes 200 ms and the requests per second at saturation (the most any
level served).
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (bench/load.py: the same database, logins and server)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="10,25,50,100,150,200", help="Concurrency levels, comma-separated.")
    parser.add_argument("--seconds", type=int, default=60, help="Duration of each level once its users have spawned.")
    parser.add_argument("--think", default="1-5", help="Seconds each user pauses before an action, MIN-MAX.")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: deploy's).")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker.")
    parser.add_argument("--port", type=int, default=0, help="Default: a free port.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis for cache and sessions; '' none.")
    parser.add_argument(
        "--secretaries", type=int, default=0, help="Secretary accounts (default: one per virtual secretary)."
    )
    return parser.parse_args()


def sign_in_every_account(base, secretaries, path):
    """Sign every account in once, before the levels (see ``bench/locustfile.py``), into ``path``."""
    import json

    accounts = [("load-dept-HN", "department"), ("load-dept-QN", "department")]
    accounts += [(f"load-sec-{index}", "secretary") for index in range(secretaries)]
    sessions = {}
    for username, role in accounts:
        user = load.VirtualUser(base, username, role, None, None)
        user.login()
        sessions[username] = {"cookies": user.session.cookies.get_dict(), "member_ids": user.member_ids}
    with open(path, "w") as stored:
        json.dump(sessions, stored)


def run_level(base, users, seconds, think, secretaries, sessions):
    """One headless locust run: the users spawn, ``users / 5`` a second, then the level runs
    ``seconds`` more with all of them; the figures of that window, and of the spawning beside them.

    The spawning is left out of the level's figures because it costs the load generator, not the
    server: locust starts each user in the event loop that times every request in flight, so while
    forty users a second start, the times it records stretch while the server's own stay short (see
    the README's load section). A level measures the load its users hold, as a deployment sees it
    once they are all at work.
    """
    spawn_rate = max(1, users // 5)
    spawn_seconds = math.ceil(users / spawn_rate)
    with tempfile.TemporaryDirectory() as folder:
        log = os.path.join(folder, "requests.tsv")
        env = {
            **os.environ,
            "LOAD_THINK": think,
            "LOAD_SECRETARIES": str(secretaries),
            "LOAD_SESSIONS": sessions,
            "LOAD_REQUEST_LOG": log,
        }
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--host",
                base,
                "--users",
                str(users),
                "--spawn-rate",
                str(spawn_rate),
                "--run-time",
                f"{spawn_seconds + seconds}s",
                # Users finish the action under way, so the window's last requests are not cut off.
                "--stop-timeout",
                "10",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            check=False,  # locust exits 1 when any request failed: the figures say so
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        samples = read_request_log(log)
    return level_figures(users, samples, spawn_seconds, seconds)


def read_request_log(path):
    """``(start, milliseconds, failed, name)`` of every request the locustfile logged."""
    samples = []
    with open(path) as log:
        for line in log:
            start, milliseconds, failed, name = line.rstrip("\n").split("\t", 3)
            samples.append((float(start), float(milliseconds), failed == "1", name))
    return samples


def percentile(ordered, share):
    """The nearest-rank percentile of sorted values (``share`` in percent); endless when empty."""
    if not ordered:
        return float("inf")
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def level_figures(users, samples, spawn_seconds, seconds):
    """The figures of the requests started in the ``seconds`` after the spawning (which begins with
    the first request), and the p95 of those started while the users spawned."""
    first = min((start for start, *_ in samples), default=0.0)
    begin, end = first + spawn_seconds, first + spawn_seconds + seconds
    window = [sample for sample in samples if begin <= sample[0] < end]
    spawning = sorted(milliseconds for start, milliseconds, *_ in samples if start < begin)
    times = sorted(milliseconds for _, milliseconds, *_ in window)
    by_name = {}
    for _, milliseconds, _, name in window:
        by_name.setdefault(name, []).append(milliseconds)
    return {
        "users": users,
        "requests": len(window),
        "failures": sum(failed for _, _, failed, _ in window),
        "rps": len(window) / seconds,
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "by_name": {
            name: (percentile(ordered, 50), percentile(ordered, 95), len(ordered))
            for name, ordered in sorted((name, sorted(values)) for name, values in by_name.items())
        },
        "spawn_seconds": spawn_seconds,
        "spawning_requests": len(spawning),
        "spawning_p95": percentile(spawning, 95),
    }


def main():
    args = parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    # Two secretaries in every five users, each with an account (and a branch) of its own.
    args.secretaries = args.secretaries or max(1, (max(levels) * 2 + 4) // 5)
    url = os.environ.get("LOAD_DATABASE_URL") or f"{load.SERVER}/loadtest"
    print(f"# preparing {url.rsplit('/', 1)[1]} (migrate, demo data, logins)", flush=True)
    secretaries = load.prepare(url, args)
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
    process, base = load.start_server(url, args)
    try:
        _run(args, levels, base, secretaries)
    finally:
        load.stop_server(process)


def _run(args, levels, base, secretaries):
    """Every level in turn, then the level where p95 passes 200 ms and the saturation."""
    print(f"# gunicorn on {base}; locust headless; think {args.think} s; {secretaries} secretary accounts", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        sessions = os.path.join(folder, "sessions.json")
        sign_in_every_account(base, secretaries, sessions)
        _levels(args, levels, base, secretaries, sessions)


def _levels(args, levels, base, secretaries, sessions):
    results = []
    for users in levels:
        result = run_level(base, users, args.seconds, args.think, secretaries, sessions)
        results.append(result)
        print(
            f"users={users} requests={result['requests']} rps={result['rps']:.1f} p50={result['p50']:.0f}ms "
            f"p95={result['p95']:.0f}ms p99={result['p99']:.0f}ms errors={result['failures']}",
            flush=True,
        )
        by_name = ", ".join(f"{name} {p50:.0f}/{p95:.0f} ({n})" for name, (p50, p95, n) in result["by_name"].items())
        print(f"#   by request, median/p95 ms (requests): {by_name}", flush=True)
        print(
            f"#   while the users spawned ({result['spawn_seconds']} s, not counted above): "
            f"{result['spawning_requests']} requests, p95 {result['spawning_p95']:.0f} ms (as locust timed them)",
            flush=True,
        )
    passing = next((r["users"] for r in results if r["p95"] > 200), None)
    print(f"p95_over_200ms_at_users={passing if passing is not None else f'never (up to {max(levels)} users)'}")
    print(f"rps_at_saturation={max(r['rps'] for r in results):.1f}")


if __name__ == "__main__":
    sys.exit(main())
