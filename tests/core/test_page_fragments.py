"""The navbar's links are rendered once per process and kept per language and per answer to the
role questions (``{% cache %}`` on the ``template_fragments`` cache): users of other roles and
languages, one after the other in the same process, each get their own."""

import re

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client

pytestmark = pytest.mark.django_db


def navbar_links(user, language):
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/members/").content.decode()
    navbar = page[page.index('<ul class="navbar-nav') : page.index("</ul>")]
    return re.findall(r'class="nav-link" href="([^"]+)">([^<]+)</a>', navbar)


def test_each_role_and_language_gets_its_own_links_in_one_process(tree, secretary_a, department, administrator):
    secretary = navbar_links(secretary_a, "en")
    staff = navbar_links(department, "en")
    admin = navbar_links(administrator, "en")
    staff_vi = navbar_links(department, "vi")
    assert ("/data/import/", "Import") in secretary and ("/data/changes/", "Change history") not in secretary
    assert ("/data/changes/", "Change history") in staff and ("/reports/targets/", "Targets") in staff
    assert ("/reports/targets/", "Targets") not in secretary
    assert not any(href == "/data/import/" for href, _label in staff)
    assert ("/admin/", "Administration") in admin and ("/admin/", "Administration") not in staff
    assert [href for href, _label in staff_vi] == [href for href, _label in staff]
    assert dict(staff_vi)["/members/"] != dict(staff)["/members/"]  # translated
    assert navbar_links(secretary_a, "en") == secretary  # served from the fragment cache
    assert caches["template_fragments"]._cache  # kept in this process
