"""The deploy guide's steps run as written on a clean checkout (issue 17, finding 10): with the
environment of deploy/env.example, ``migrate``, ``collectstatic`` with the manifest storage and
``check --deploy`` succeed."""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tracked_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def example_environment(checkout):
    """deploy/env.example's settings, with a real secret and a database of the checkout's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    for line in (checkout / "deploy" / "env.example").read_text().splitlines():
        match = re.match(r"^([A-Z_]+)=(.*)$", line.strip())
        if match:
            env[match[1]] = match[2]
    env["SECRET_KEY"] = secrets.token_urlsafe(64)
    env["DATABASE_URL"] = f"sqlite:///{checkout / 'deploy-test.sqlite3'}"
    return env


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """The files git tracks, as a fresh clone would have them (no staticfiles/, no .secret_key)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("the deploy test needs the project's git checkout")
    target = tmp_path_factory.mktemp("checkout")
    for name in tracked_files():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def manage(checkout, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=checkout,
        env=example_environment(checkout),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_collectstatic_with_the_manifest_storage_succeeds(checkout):
    result = manage(checkout, "collectstatic", "--noinput")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = checkout / "staticfiles" / "staticfiles.json"
    assert manifest.exists()
    assert "vendor/bootstrap/bootstrap.min.css" in manifest.read_text()


def test_no_vendored_asset_points_to_a_missing_source_map():
    for path in (ROOT / "static").rglob("*"):
        if path.suffix in (".js", ".css"):
            for target in re.findall(r"sourceMappingURL=(\S+?)(?:\s|\*/|$)", path.read_text(errors="replace")):
                assert (path.parent / target).exists(), f"{path.relative_to(ROOT)} -> {target}"


def test_migrate_and_check_deploy_pass_with_the_example_environment(checkout):
    migrated = manage(checkout, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    checked = manage(checkout, "check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "no issues" in checked.stdout
