"""Languages (issue 4 item 6): complete Vietnamese and English catalogs, Vietnamese by default.

The catalogs are read with a small PO parser and the compiled ``.mo`` files with the standard
library, so these tests need neither ``polib`` nor GNU gettext. Which strings the code marks for
translation is found the way ``makemessages`` finds them: Django's ``templatize`` for templates,
the ``gettext`` family of calls for Python files.
"""

import ast
import gettext
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation.template import templatize

from branches.choices import OrganizationKind
from reports.formatting import display
from reports.metrics import Metric

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"
LANGUAGES = ("vi", "en")
# As `make messages` / makemessages is run: everything in the project but these.
IGNORED_DIRS = {".venv", "staticfiles", "var", "bench", "locale", "node_modules", "__pycache__"}

GETTEXT_FUNCTIONS = {
    # name: (index of the context argument or None, index of msgid, index of msgid_plural or None)
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}
# %(name)s, %s, %d and {name}; HTML tags.
STRING = r"""u?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
# gettext(u'...'), _("..."), ngettext(u'...', u'...', count) in templatize's output.
TEMPLATIZED_CALL = re.compile(rf"\b(?:_|n?p?gettext)\(\s*{STRING}(?:\s*,\s*{STRING})*(?:\s*,[^()]*)?\)")
PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]|%[#0 +-]*\d*(?:\.\d+)?[sdifr]|\{[^{}]*\}|<[^>]+>")


# --- reading catalogs ---------------------------------------------------------------------------


def parse_po(path):
    """Entries of a PO file as dicts: msgctxt, msgid, msgid_plural, msgstr (list), fuzzy. Obsolete ones skipped."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry = {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": {}, "fuzzy": False}
        field = None
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,"):
                entry["fuzzy"] = entry["fuzzy"] or "fuzzy" in line
                continue
            if not line or line.startswith("#"):
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
            if match:
                keyword, index, text = match.groups()
                field = ("msgstr", int(index or 0)) if keyword.startswith("msgstr") else keyword
                value = ast.literal_eval(text)
            else:
                value = ast.literal_eval(line)  # a continuation line "..."
                value = (current(entry, field) or "") + value
            set_field(entry, field, value)
        if entry["msgid"] is not None:
            entry["msgstr"] = [entry["msgstr"][i] for i in sorted(entry["msgstr"])]
            entries.append(entry)
    return entries


def current(entry, field):
    return entry["msgstr"].get(field[1]) if isinstance(field, tuple) else entry[field]


def set_field(entry, field, value):
    if isinstance(field, tuple):
        entry["msgstr"][field[1]] = value
    else:
        entry[field] = value


def catalog(language):
    """The messages of a language's catalog, without the header."""
    entries = parse_po(LOCALE / language / "LC_MESSAGES" / "django.po")
    return [e for e in entries if e["msgid"] != ""]


def header(language):
    head = next(e for e in parse_po(LOCALE / language / "LC_MESSAGES" / "django.po") if e["msgid"] == "")
    return dict(line.split(": ", 1) for line in head["msgstr"][0].splitlines() if ": " in line)


def key(entry):
    return (entry["msgctxt"], entry["msgid"], entry["msgid_plural"])


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


# --- what the code marks for translation -------------------------------------------------------


def project_files(suffixes):
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if path.suffix not in suffixes or not path.is_file():
            continue
        if any(part in IGNORED_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        yield path


def strings_in_python(source):
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in GETTEXT_FUNCTIONS:
            continue
        context_at, msgid_at, plural_at = GETTEXT_FUNCTIONS[name]
        args = node.args

        def literal(index, args=args):
            if index is None:
                return None
            if index < len(args) and isinstance(args[index], ast.Constant) and isinstance(args[index].value, str):
                return args[index].value
            return False

        context, msgid, plural = literal(context_at), literal(msgid_at), literal(plural_at)
        if False in (context, msgid, plural) or not msgid:
            continue  # not a literal: xgettext skips it too
        found.add((context, msgid, plural))
    return found


def marked_strings():
    """(context, msgid, msgid_plural) of every string the project's templates and Python files mark."""
    found = set()
    for path in project_files({".py"}):
        if "migrations" in path.parts or path.name.startswith("test_"):
            continue
        found |= strings_in_python(path.read_text(encoding="utf-8"))
    for path in project_files({".html", ".txt"}):
        # The same conversion makemessages does before running xgettext: calls gettext(u'...') amid filler.
        converted = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for call in TEMPLATIZED_CALL.finditer(converted):
            found |= strings_in_python(call.group())
    return found


# --- the catalogs --------------------------------------------------------------------------------


def test_vietnamese_catalog_has_no_untranslated_or_fuzzy_entries():
    entries = catalog("vi")
    assert len(entries) > 500
    missing = [e["msgid"] for e in entries if e["fuzzy"] or not e["msgstr"] or not all(e["msgstr"])]
    assert missing == []


def test_english_catalog_has_no_untranslated_or_fuzzy_entries():
    missing = [e["msgid"] for e in catalog("en") if e["fuzzy"] or not e["msgstr"] or not all(e["msgstr"])]
    assert missing == []


def test_english_catalog_shows_the_source_text():
    for entry in catalog("en"):
        expected = [entry["msgid"], entry["msgid_plural"]] if entry["msgid_plural"] else [entry["msgid"]]
        assert entry["msgstr"] == expected


def test_both_catalogs_hold_the_same_messages():
    assert {key(e) for e in catalog("vi")} == {key(e) for e in catalog("en")}


def test_catalog_headers_name_the_language_and_its_plural_forms():
    assert header("vi")["Language"] == "vi"
    assert header("vi")["Plural-Forms"].startswith("nplurals=1; plural=0")
    assert header("en")["Language"] == "en"
    assert header("en")["Plural-Forms"].startswith("nplurals=2; plural=(n != 1)")
    for language in LANGUAGES:
        assert "charset=UTF-8" in header(language)["Content-Type"]


def test_vietnamese_translations_keep_every_placeholder_and_tag():
    wrong = []
    for entry in catalog("vi"):
        # One plural form: msgstr[0] serves every count, so it carries the plural's placeholders.
        expected = placeholders(entry["msgid_plural"] or entry["msgid"])
        wrong += [(entry["msgid"], text) for text in entry["msgstr"] if placeholders(text) != expected]
    assert wrong == []


def test_vietnamese_translations_differ_from_the_english_text():
    """A translation copied from the English (a forgotten entry) shows up here; symbols and names may stay."""
    same_allowed = {"%", "Email", "IP"}
    copied = [
        e["msgid"]
        for e in catalog("vi")
        if e["msgstr"][0] == e["msgid"] and e["msgid"] not in same_allowed and re.search(r"[a-z]{3}", e["msgid"])
    ]
    assert copied == []


def test_every_string_marked_in_the_code_is_in_the_catalogs():
    """Run `make messages` (then translate) when this fails: a string was marked after the last catalog update."""
    in_catalog = {key(e) for e in catalog("vi")}
    missing = sorted((marked_strings() - in_catalog), key=str)
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_its_po_file(language):
    """The committed .mo holds exactly the .po's translations (run compilemessages after editing a .po)."""
    directory = LOCALE / language / "LC_MESSAGES"
    with open(directory / "django.mo", "rb") as compiled:
        messages = gettext.GNUTranslations(compiled)._catalog
    expected = {}
    for entry in catalog(language):
        msgid = entry["msgid"] if entry["msgctxt"] is None else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if entry["msgid_plural"]:
            expected.update({(msgid, i): text for i, text in enumerate(entry["msgstr"])})
        else:
            expected[msgid] = entry["msgstr"][0]
    messages = {k: v for k, v in messages.items() if k != ""}
    assert messages == expected


# --- the running application ---------------------------------------------------------------------


def test_default_language_is_vietnamese():
    assert settings.LANGUAGE_CODE == "vi"
    assert [code for code, _ in settings.LANGUAGES] == ["vi", "en"]


def test_active_language_translates_labels_and_messages():
    with translation.override("vi"):
        assert str(OrganizationKind.GRASSROOTS_BRANCH.label) == "chi bộ cơ sở"
        assert str(OrganizationKind.GRASSROOTS_COMMITTEE.label) == "đảng bộ cơ sở"
        assert translation.gettext("Sign in") == "Đăng nhập"
    with translation.override("en"):
        assert str(OrganizationKind.GRASSROOTS_BRANCH.label) == "grassroots Party branch"
        assert translation.gettext("Sign in") == "Sign in"


def test_vietnamese_labels_use_the_glossary_of_domain_md():
    from branches.choices import MemberStatus, ProspectStage, RoleKey
    from enterprises.choices import MassOrganizationKind

    with translation.override("vi"):
        assert [str(label) for label in OrganizationKind.labels] == [
            "cấp ủy cấp trên cơ sở",
            "đảng bộ cơ sở",
            "chi bộ cơ sở",
            "chi bộ trực thuộc",
        ]
        assert [str(label) for label in MassOrganizationKind.labels] == [
            "công đoàn cơ sở",
            "đoàn thanh niên",
            "hội phụ nữ",
            "hội cựu chiến binh",
        ]
        assert str(RoleKey.SECRETARY.label) == "bí thư chi bộ"
        assert "Ban Tổ chức" in str(RoleKey.DEPARTMENT.label)
        assert "nơi cư trú" in str(MemberStatus.TRANSFERRED_TO_RESIDENCE.label)
        assert str(ProspectStage.ADMITTED.label) == "đã kết nạp"
        assert translation.gettext("Prospects") == "Đối tượng kết nạp đảng"
        assert translation.gettext("Transfer Party activity") == "Chuyển sinh hoạt đảng"
        assert translation.gettext("tax code") == "mã số thuế"
        assert translation.gettext("citizen ID") == "số căn cước công dân"
        assert translation.gettext("yearly target") == "chỉ tiêu năm"
        assert translation.gettext("probationary") == "dự bị"
        assert translation.gettext("official") == "chính thức"


def test_every_metric_has_a_vietnamese_label():
    with translation.override("vi"):
        vietnamese = {str(metric.label) for metric in Metric}
    with translation.override("en"):
        english = {str(metric.label) for metric in Metric}
    assert vietnamese.isdisjoint(english)


def test_fulfilment_is_shown_with_the_active_locale_digits():
    with translation.override("vi"):
        assert display(1024, 903, Decimal("113.4")) == "1.024/903 (113,4%)"
        assert display(128975, 35000, Decimal("368.5")) == "128.975/35.000 (368,5%)"
    with translation.override("en"):
        assert display(1024, 903, Decimal("113.4")) == "1,024/903 (113.4%)"
        assert display(847, 350, Decimal("242.0")) == "847/350 (242%)"


def test_login_page_is_vietnamese_by_default(client, db):
    response = client.get(reverse("login"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'lang="vi"' in page
    assert "Đăng nhập" in page
    assert "Sign in" not in page


def test_login_page_ignores_the_browsers_accept_language_header(client, db):
    # Vietnamese unless the user chooses English (issue 16): not the browser's or phone's language.
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Đăng nhập" in page
    assert "Sign in" not in page


def test_login_page_follows_the_language_cookie(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Sign in" in page


def test_language_switch_sets_the_language_for_the_next_pages(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Sign in" in client.get(reverse("login")).content.decode()
    client.post(reverse("set_language"), {"language": "vi", "next": reverse("login")})
    assert "Đăng nhập" in client.get(reverse("login")).content.decode()


def test_secretary_home_is_vietnamese_by_default_and_english_on_request(client, secretary_a, tree):
    client.force_login(secretary_a)
    url = reverse("home:organization", kwargs={"pk": tree.branch_a.pk})
    vietnamese = client.get(url).content.decode()
    assert "Đảng viên đang sinh hoạt" in vietnamese
    assert "Đăng xuất" in vietnamese
    assert "Active members" not in vietnamese
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    assert "Active members" in english
    assert "Sign out" in english


def test_member_list_is_vietnamese_by_default(client, secretary_a, tree):
    client.force_login(secretary_a)
    page = client.get(reverse("branches:member_list")).content.decode()
    assert "Tìm kiếm" in page or "Bộ lọc" in page
    assert "Không có đảng viên nào phù hợp." in page


def test_dashboard_is_vietnamese_by_default(client, department, tree):
    client.force_login(department)
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kết quả thực hiện chỉ tiêu" in page
    assert "Target fulfilment" not in page
