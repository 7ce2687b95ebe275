"""Every page in Vietnamese (issue 16, deliverable 9): each persona opens every page of the project
and of the admin it is shown, with the Vietnamese interface, and no text a person reads there (text,
titles, placeholders, labels for screen readers, button values) is a source string of the catalogs,
the project's or Django's and its apps', left in English.

A source string is English on a page unless its Vietnamese translation is the same text ("Email",
"OK"); the records' own values (names, codes, usernames) are data, not interface. The pages are
those of the scope matrix (tests/config/test_scope_matrix.py), filled with branch A's records.
"""

import functools
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import django
import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import trans_real

from tests.config import test_scope_matrix as matrix

records = matrix.records  # the scope matrix's fixture: branch A's records and the four personas

# Placeholders of Python, str.format and blocktranslate (a variable becomes %(name)s).
PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]|%[#0 +-]*\d*(?:\.\d+)?[sdifr]|\{\w*\}")
TAG = re.compile(r"<[^>]+>")
#: Elements whose text is not interface: code, scripts and what the user typed.
# (<bdi> isolates data: Django admin's password summary shows a salt's first characters in one,
# and a salt beginning "on" followed by asterisks read as the msgid "on")
SKIPPED = {"script", "style", "code", "pre", "textarea", "template", "bdi"}
#: Elements inside a sentence: their text and their neighbours' is read as one run.
INLINE = {"a", "abbr", "b", "bdi", "bdo", "br", "cite", "dfn", "em", "i", "kbd", "mark", "q", "s", "samp", "small"}
INLINE |= {"span", "strong", "sub", "sup", "time", "u", "var", "wbr"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
#: Attributes a person reads or hears; the pickers' data-* texts are shown by static/js/autocomplete.js.
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-placeholder", "data-no-results"}
READ_ATTRIBUTES |= {"data-loading", "data-clear"}
BUTTON_TYPES = {"submit", "button", "reset"}
DECORATION = " \u00a0«»‹›*·|→←"
PERSONAS = ("anonymous", "secretary_a", "department", "administrator")


def normalized(text):
    return " ".join(text.split()).strip(DECORATION)


def variants(text):
    """The text and the text without a trailing colon or full stop ("Name:" is "Name")."""
    text = normalized(text)
    return {text, text.rstrip(":.…").rstrip()} - {""}


# The English source strings ---------------------------------------------------------------


def catalog_files():
    """The catalogs Django merges for a language: its own, each installed app's, LOCALE_PATHS'.
    The English file when the package ships one (msgid = the source text), else every language's."""
    folders = [Path(django.__file__).parent / "conf" / "locale"]
    folders += [Path(config.path) / "locale" for config in apps.get_app_configs()]
    folders += [Path(path) for path in settings.LOCALE_PATHS]
    for folder in folders:
        if not folder.is_dir():
            continue
        english = [folder / "en" / "LC_MESSAGES" / f"django.{suffix}" for suffix in ("po", "mo")]
        english = [path for path in english if path.exists()][:1]
        yield from english or sorted(folder.glob("*/LC_MESSAGES/django.po"))


def catalog_entries():
    for path in catalog_files():
        yield from (polib.pofile if path.suffix == ".po" else polib.mofile)(str(path))


def is_translated_as_itself(vietnamese, entry, source):
    """The Vietnamese catalog gives ``source`` as its own translation ("Email", "OK")."""
    key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
    if entry.msgid_plural:
        key = (key, 0)
    return key in vietnamese and vietnamese[key] == source


def pattern_of(source):
    """A regular expression of a source string with placeholders, matching it with any values
    filled in; None when its words are too few to tell it from data ("%(name)s (%(code)s)")."""
    literals = [html.unescape(TAG.sub("", part)) for part in PLACEHOLDER.split(source.replace("%%", "%"))]
    if not re.search(r"[A-Za-z]{3,}", "".join(literals)):
        return None
    literals[0], literals[-1] = literals[0].lstrip(DECORATION), literals[-1].rstrip(DECORATION)
    return re.compile(r"\s*(.+?)\s*".join(re.escape(" ".join(literal.split())) for literal in literals))


@functools.cache
def english_sources():
    """(exact, patterns): the normalised English source strings of every catalog whose Vietnamese
    translation differs or is missing, each mapped to its msgid; patterns for those with placeholders."""
    vietnamese = trans_real.translation("vi")._catalog
    exact, patterns = {}, {}
    for entry in catalog_entries():
        for source in filter(None, (entry.msgid, entry.msgid_plural)):
            if is_translated_as_itself(vietnamese, entry, source):
                continue
            if PLACEHOLDER.search(source):
                pattern = pattern_of(source)
                if pattern is not None:
                    patterns[pattern.pattern] = (pattern, source)
                continue
            text = html.unescape(TAG.sub("", source))
            for variant in variants(text):
                if re.search(r"[A-Za-z]{2,}", variant):
                    exact.setdefault(variant, source)
    return exact, sorted(patterns.values(), key=lambda item: -len(PLACEHOLDER.sub("", item[1])))  # most words first


@functools.cache
def english_source_of(text):
    """The msgid ``text`` shows in English, or None."""
    exact, patterns = english_sources()
    for variant in variants(text):
        if variant in exact:
            return exact[variant]
    for pattern, source in patterns:
        if any(pattern.fullmatch(variant) for variant in variants(text)):
            return source
    return None


# What a person reads on a page -------------------------------------------------------------


class ReadText(HTMLParser):
    """The text nodes, the runs of text across inline elements, the read attributes, and the
    language of the page (``<html lang>``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self.run, self.skipped, self.language = set(), [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.language = attrs.get("lang")
        if tag not in INLINE:
            self.flush()
        # Text marked as another language is meant so: the language switcher's "English".
        other_language = tag != "html" and not (attrs.get("lang") or "vi").startswith("vi")
        if (tag in SKIPPED or other_language) and tag not in VOID:
            self.skipped.append(tag)
        if self.skipped or other_language:
            return
        for name, value in attrs.items():
            if value and (name in READ_ATTRIBUTES or (name == "value" and attrs.get("type") in BUTTON_TYPES)):
                self.texts.add(value)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.skipped and self.skipped[-1] == tag:
            self.skipped.pop()
        if tag not in INLINE and tag not in VOID:
            self.flush()

    def handle_data(self, data):
        if not self.skipped:
            self.texts.add(data)
            self.run.append(data)

    def flush(self):
        self.texts.add("".join(self.run))
        self.run = []

    def close(self):
        super().close()
        self.flush()


def read(content):
    parser = ReadText()
    parser.feed(content)
    parser.close()
    return parser


def data_values():
    """Every text stored in the records (names, codes, usernames, a task's title): data, not interface.
    Fields with choices are left out: their labels are interface and must be translated."""
    values = set()
    for model in apps.get_models():
        names = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and not f.choices
        ]
        for row in model._default_manager.values_list(*names) if names else ():
            values.update(variant for value in row if isinstance(value, str) for variant in variants(value))
    return values


# The pages ---------------------------------------------------------------------------------


def project_pages(records):
    """(url, query) of every page of the scope matrix, filled with branch A's records: not the API."""
    pages = []
    for key, patterns in sorted(matrix.patterns_by_key().items()):
        if matrix.is_api(key) or matrix.is_admin(key) or key not in matrix.REGISTRY:
            continue
        entry = matrix.REGISTRY[key]
        for pattern in patterns:
            url = matrix.fill(pattern, entry, records)
            pages.append((url, entry.query))
            if entry.kind == matrix.LIST:  # and the list's empty state
                pages.append((url, {**entry.query, "q": "zzz"}))
    return pages


def admin_url(name, *args):
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return None


def admin_pages(user):
    """(url, query) of the admin pages: index, each model's list (also empty), add, change, history
    and a version, and the administrator's password forms."""
    pages = [(reverse("admin:index"), {}), (reverse("admin:password_change"), {})]
    pages.append((reverse("admin:auth_user_password_change", args=[user.pk]), {}))
    for model in admin.site._registry:
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        pages.append((reverse("admin:app_list", args=[model._meta.app_label]), {}))
        pages += [(reverse(f"admin:{info}_changelist"), query) for query in ({}, {"q": "zzz"})]
        pages.append((reverse(f"admin:{info}_add"), {}))
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        pages += [(reverse(f"admin:{info}_{view}", args=[obj.pk]), {}) for view in ("change", "history")]
        version = obj.history.order_by("history_id").first() if hasattr(obj, "history") else None
        url = version and admin_url(f"{info}_simple_history", obj.pk, version.history_id)
        if url:
            pages.append((url, {}))
    return list({(url, urlencode(query)): (url, query) for url, query in pages}.values())


def admin_action_forms(client):
    """(label, response) of each admin action's form for one selected row (nothing is applied)."""
    for model, model_admin in admin.site._registry.items():
        obj = model._default_manager.order_by("pk").first()
        if obj is None or not model_admin.actions:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for action in model_admin.actions:
            name = action if isinstance(action, str) else action.__name__
            data = {"action": name, "index": "0", admin.helpers.ACTION_CHECKBOX_NAME: [obj.pk]}
            yield f"POST {url} action={name}", client.post(url, data)


def pages_of(persona, client, records):
    """(label, response) of every page the persona is shown, a page not found among them."""
    pages = [*project_pages(records), ("/no-such-page/", {}), (reverse("admin:login"), {})]
    if persona == "administrator":
        pages += admin_pages(records.personas.administrator)
    for url, query in pages:
        yield (f"{url}?{urlencode(query)}" if query else url), client.get(url, query)
    if persona == "administrator":
        yield from admin_action_forms(client)  # last: an action without a form applies at once


def english_on(content, data):
    """The (text, msgid) pairs of a Vietnamese page left in English."""
    page = read(content)
    found = set()
    for text in page.texts:
        if not re.search(r"[A-Za-z]{2,}", text) or variants(text) & data:
            continue
        source = english_source_of(text)
        if source is not None:
            found.add((normalized(text), source))
    return page.language, found


def test_the_catalogs_give_english_sources_with_and_without_placeholders():
    exact, patterns = english_sources()
    assert "Show counts" in exact and "Please correct the errors below" in exact  # Django's, overridden
    assert english_source_of("Members:") == "Members"  # the project's, with a trailing colon
    assert english_source_of("Email") is None  # translated as itself
    assert english_source_of("View history: Nguyễn Văn A") == "View history: %s"  # django-simple-history's
    assert english_source_of("Nguyễn Văn A") is None


def test_the_walk_sees_an_english_page(client, records):
    """The same reading of a page in English finds its strings: the walk below would see one left over."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(records.personas.secretary_a)
    language, english = english_on(client.get(reverse("branches:member_list")).content.decode(), data_values())
    assert language == "en"
    found = {source for _text, source in english}
    assert {"Members", "Sign out", "Hello, %(name)s", "Type a name or code…", "Skip to content"} <= found
    assert "Trịnh Bí Mật" not in {text for text, _source in english}


def test_a_password_summary_is_data_whatever_its_salt(client, records):
    """The admin's user page shows the password's algorithm, salt and hash, masked: a salt that
    begins with an English word is data, not a string left untranslated."""
    from django.contrib.auth.hashers import make_password

    admin = records.personas.administrator
    admin.is_staff = True
    admin.password = make_password("x", salt="onSALT0123456789", hasher="md5")
    admin.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    client.force_login(admin)
    page = client.get(reverse("admin:auth_user_change", args=[admin.pk])).content.decode()
    assert "on**" in page
    language, english = english_on(page, data_values())
    assert language == "vi" and not english


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_is_vietnamese_for_each_persona(persona, records):
    """Every HTML page the persona reaches (and its refusals: 403 and 404 pages are pages too)."""
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    if persona != "anonymous":
        user = getattr(records.personas, persona)
        if persona == "administrator":
            user.is_staff = True
            user.save()
        client.force_login(user)
    data = data_values()
    problems, shown = [], 0
    for label, response in pages_of(persona, client, records):
        if not response.get("Content-Type", "").startswith("text/html") or not response.content:
            continue
        language, english = english_on(response.content.decode(), data)
        shown += 1
        if language != "vi":
            problems.append(f"{persona} {label}: <html lang={language!r}>")
        problems += [f"{persona} {label}: {text!r} (msgid {source!r})" for text, source in sorted(english)]
    assert shown >= (3 if persona == "anonymous" else 40)
    assert not problems, f"{len(problems)} strings in English on Vietnamese pages:\n" + "\n".join(problems)
