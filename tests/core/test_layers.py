"""The house rule that import-linter does not check: no private name crosses an app."""

import ast
from pathlib import Path

from django.conf import settings

APPS = ("core", "security", "branches", "enterprises", "reports", "dataio", "devdata", "config")


def private_crossings(app, source, filename="<source>"):
    """``module.name`` of every name beginning with ``_`` that ``source`` (of ``app``) imports from another app."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.ImportFrom) and node.module:
            source_app = node.module.split(".")[0]
            if source_app in APPS and source_app != app:
                found += [f"{node.module}.{alias.name}" for alias in node.names if alias.name.startswith("_")]
    return found


def test_no_module_imports_a_private_name_from_another_app():
    crossings = []
    for app in APPS:
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            if "migrations" not in path.parts:
                crossings += [f"{path}: {name}" for name in private_crossings(app, path.read_text(), str(path))]
    assert crossings == []


def test_a_private_import_from_another_app_is_found_and_one_inside_the_app_is_not():
    source = "from branches.services import _hidden, shown\nfrom dataio.imports import _filename\n"
    assert private_crossings("dataio", source) == ["branches.services._hidden"]
