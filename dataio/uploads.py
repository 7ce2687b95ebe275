"""Uploaded import files, kept between the preview and the commit in the "files" storage.

Each upload is two files under ``imports/``: ``<token>.bin`` (the file as uploaded) and
``<token>.json`` (who uploaded it, what it holds, for which organisation, its rows). Through
Django's storage API (``STORAGES["files"]``), so the commit, or the task that commits a large file,
may run on another app server or worker than the upload. A token only works for the user who
uploaded it, for ``UPLOAD_LIFETIME``.
"""

import datetime
import json
import secrets
from pathlib import Path

from django.core.files.base import ContentFile
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.jobs import files_storage

UPLOAD_LIFETIME = datetime.timedelta(hours=2)
FOLDER = "imports"


def names(token):
    """The storage names of ``token``'s file and description (404 for anything but a token)."""
    if not token or not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        raise Http404
    return f"{FOLDER}/{token}.bin", f"{FOLDER}/{token}.json"


def forget_stale():
    """Uploads never committed are deleted once they are older than UPLOAD_LIFETIME."""
    storage = files_storage()
    cutoff = timezone.now() - UPLOAD_LIFETIME
    try:
        files = storage.listdir(FOLDER)[1]
    except (OSError, NotImplementedError):
        return
    for name in files:
        path = f"{FOLDER}/{name}"
        try:
            if storage.get_modified_time(path) < cutoff:
                storage.delete(path)
        except (OSError, NotImplementedError):
            continue


def store(user, kind, organization, upload):
    """Keep ``upload`` for ``user``; returns its token (describe it with :func:`describe`)."""
    forget_stale()
    token = secrets.token_urlsafe(24)
    data_name, _meta_name = names(token)
    files_storage().save(data_name, upload)
    describe(
        token,
        {
            "user": user.pk,
            "kind": kind,
            "organization": organization.pk if organization is not None else None,
            "filename": Path(upload.name).name,
            "uploaded": timezone.now().isoformat(),
        },
    )
    return token


def describe(token, meta):
    storage = files_storage()
    meta_name = names(token)[1]
    storage.delete(meta_name)
    storage.save(meta_name, ContentFile(json.dumps(meta).encode()))


def load(user, token):
    """``(storage name of the file, its description)``, only for the user who uploaded it and while it is fresh."""
    data_name, meta_name = names(token)
    storage = files_storage()
    try:
        with storage.open(meta_name, "rb") as handle:
            meta = json.loads(handle.read())
    except (OSError, ValueError):
        raise Http404 from None
    uploaded = parse_datetime(meta.get("uploaded", ""))
    if meta.get("user") != user.pk or uploaded is None or timezone.now() - uploaded > UPLOAD_LIFETIME:
        raise Http404
    return data_name, meta


def open_file(data_name):
    return files_storage().open(data_name, "rb")


def discard(token):
    storage = files_storage()
    for name in names(token):
        storage.delete(name)
