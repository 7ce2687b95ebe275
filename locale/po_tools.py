"""Helpers for the translation catalogs (run with the project's venv; needs ``polib``, a dev-only tool).

    .venv/bin/python locale/po_tools.py fill BATCH.py   # fill empty/fuzzy vi msgstr from a dict ``T`` in BATCH.py
    .venv/bin/python locale/po_tools.py todo            # list vi msgids still empty or fuzzy
    .venv/bin/python locale/po_tools.py check           # placeholders of every vi translation match its msgid
    .venv/bin/python locale/po_tools.py english         # en catalog: msgstr = msgid (like msgen), fuzzy cleared
    .venv/bin/python locale/po_tools.py headers         # set Language / Plural-Forms headers of vi and en

The usual loop (make messages does the first and the last step):

    .venv/bin/python manage.py makemessages -l vi -l en --no-obsolete --ignore=.venv --ignore=staticfiles \
        --ignore=var --ignore=bench
    .venv/bin/python locale/po_tools.py todo       # translate what it lists, then fill
    .venv/bin/python locale/po_tools.py english
    .venv/bin/python locale/po_tools.py headers
    .venv/bin/python manage.py compilemessages --ignore=.venv
"""

import re
import runpy
import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent
VI = LOCALE / "vi" / "LC_MESSAGES" / "django.po"
EN = LOCALE / "en" / "LC_MESSAGES" / "django.po"

# %(name)s, %s, %d, %% and {name}; HTML tags.
PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]|%[#0 +-]*\d*(?:\.\d+)?[sdifr]|\{[^{}]*\}|<[^>]+>")

HEADERS = {
    VI: {"Language": "vi", "Plural-Forms": "nplurals=1; plural=0;"},
    EN: {"Language": "en", "Plural-Forms": "nplurals=2; plural=(n != 1);"},
}


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text or ""))


def translations(entry):
    if entry.msgid_plural:
        return [entry.msgstr_plural.get(i, "") for i in sorted(entry.msgstr_plural)] or [""]
    return [entry.msgstr]


def needs_work(entry):
    return "fuzzy" in entry.flags or not all(translations(entry))


def fill(batch_path):
    table = runpy.run_path(batch_path)["T"]
    po = polib.pofile(str(VI), wrapwidth=79)
    filled, unknown = 0, set(table)
    for entry in po:
        if entry.obsolete or entry.msgid not in table:
            continue
        unknown.discard(entry.msgid)
        text = table[entry.msgid]
        if placeholders(text) != placeholders(entry.msgid_plural or entry.msgid):
            print(f"placeholders differ, skipped: {entry.msgid!r} -> {text!r}")
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {0: text}
        else:
            entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
        filled += 1
    po.save()
    print(f"filled {filled}; not in the catalog: {len(unknown)}")
    for msgid in sorted(unknown):
        print(f"  unknown: {msgid!r}")


def todo():
    po = polib.pofile(str(VI))
    left = [e for e in po if not e.obsolete and needs_work(e)]
    for entry in left:
        where = entry.occurrences[0][0] if entry.occurrences else ""
        fuzzy = " FUZZY" if "fuzzy" in entry.flags else ""
        plural = f" PLURAL={entry.msgid_plural!r}" if entry.msgid_plural else ""
        print(f"{where}{fuzzy}\t{entry.msgid!r}{plural}")
    print(f"{len(left)} of {len(po)} need work", file=sys.stderr)


def check():
    po = polib.pofile(str(VI))
    bad = 0
    for entry in po:
        for text in translations(entry):
            # Vietnamese has one plural form: msgstr[0] serves every count, like the English plural.
            expected = placeholders(entry.msgid_plural or entry.msgid)
            if text and placeholders(text) != expected:
                bad += 1
                print(f"placeholders differ: {entry.msgid!r} -> {text!r}")
    print(f"{bad} problems")
    return bad


def english():
    po = polib.pofile(str(EN), wrapwidth=79)
    for entry in po:
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        else:
            entry.msgstr = entry.msgid
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    po.save()


def headers():
    for path, values in HEADERS.items():
        po = polib.pofile(str(path), wrapwidth=79)
        po.metadata.update(values)
        po.metadata_is_fuzzy = False
        po.save()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "todo"
    if command == "fill":
        fill(sys.argv[2])
    elif command == "todo":
        todo()
    elif command == "check":
        sys.exit(1 if check() else 0)
    elif command == "english":
        english()
    elif command == "headers":
        headers()
    else:
        sys.exit(__doc__)
