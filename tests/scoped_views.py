"""The one reusable persona contract for a model's pages (NetBox's ViewTestCases, healthchecks' alice/bob).

Subclass ``ScopedReadViewsContract`` (list and detail) and, for models with forms,
``ScopedWriteViewsContract`` (create and edit too), as ``Test<Model>Views``, and fill in the hooks.
Every page is exercised with the four personas of ``tests/conftest.py``:

* ``secretary_a`` keeps ``tree.branch_a``: sees, creates and edits branch A's records;
* ``secretary_b`` keeps the other branch: 404 on branch A's records, does not see them in lists,
  and posting a foreign key from branch A's scope is refused with a field error, nothing written;
* ``department`` of the committee above both: reads everything, 403 on every write (GET and POST);
* ``administrator``: allowed everywhere.

``test_list_queries_stay_constant`` checks the list page with 5 and with 50 rows against the
same ceiling (``max_list_queries``), so a missing ``select_related`` fails it.
"""

from django.urls import reverse


def login(client, user):
    client.force_login(user)
    return client


class ScopedReadViewsContract:
    """List and detail for the four personas."""

    list_url_name = None
    detail_url_name = None
    max_list_queries = 15

    # Hooks -------------------------------------------------------------------------------

    def make_object(self, tree):
        """A row belonging to branch A's scope."""
        raise NotImplementedError

    def list_marker(self, obj):
        """Text by which the row is recognised in the list page."""
        return str(obj)

    # Helpers -----------------------------------------------------------------------------

    def list_url(self):
        return reverse(self.list_url_name)

    def detail_url(self, obj):
        return reverse(self.detail_url_name, args=[obj.pk])

    # List --------------------------------------------------------------------------------

    def test_list_requires_sign_in(self, client, tree):
        response = client.get(self.list_url())
        assert response.status_code == 302
        assert reverse("login") in response["Location"]

    def test_list_shows_own_record_to_secretary(self, client, tree, secretary_a):
        obj = self.make_object(tree)
        response = login(client, secretary_a).get(self.list_url())
        assert response.status_code == 200
        assert self.list_marker(obj) in response.content.decode()

    def test_list_hides_record_from_other_branch_secretary(self, client, tree, secretary_b):
        obj = self.make_object(tree)
        response = login(client, secretary_b).get(self.list_url())
        assert response.status_code == 200
        assert self.list_marker(obj) not in response.content.decode()

    def test_list_shows_record_to_department(self, client, tree, department):
        obj = self.make_object(tree)
        response = login(client, department).get(self.list_url())
        assert response.status_code == 200
        assert self.list_marker(obj) in response.content.decode()

    def test_list_shows_record_to_administrator(self, client, tree, administrator):
        obj = self.make_object(tree)
        response = login(client, administrator).get(self.list_url())
        assert response.status_code == 200
        assert self.list_marker(obj) in response.content.decode()

    def test_list_queries_stay_constant(self, client, tree, secretary_a, django_assert_max_num_queries):
        login(client, secretary_a)
        url = self.list_url()
        for _ in range(5):
            self.make_object(tree)
        client.get(url)  # warm up (session, content types)
        with django_assert_max_num_queries(self.max_list_queries) as few:
            assert client.get(url).status_code == 200
        for _ in range(45):
            self.make_object(tree)
        with django_assert_max_num_queries(self.max_list_queries) as many:
            assert client.get(url).status_code == 200
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]

    # Detail ------------------------------------------------------------------------------

    def test_detail_opens_for_secretary(self, client, tree, secretary_a):
        obj = self.make_object(tree)
        assert login(client, secretary_a).get(self.detail_url(obj)).status_code == 200

    def test_detail_is_404_for_other_branch_secretary(self, client, tree, secretary_b):
        obj = self.make_object(tree)
        assert login(client, secretary_b).get(self.detail_url(obj)).status_code == 404

    def test_detail_opens_for_department(self, client, tree, department):
        obj = self.make_object(tree)
        assert login(client, department).get(self.detail_url(obj)).status_code == 200

    def test_detail_opens_for_administrator(self, client, tree, administrator):
        obj = self.make_object(tree)
        assert login(client, administrator).get(self.detail_url(obj)).status_code == 200


class ScopedWriteViewsContract(ScopedReadViewsContract):
    """Create and edit for the four personas, on top of list and detail."""

    add_url_name = None
    edit_url_name = None

    # Hooks -------------------------------------------------------------------------------

    def create_data(self, tree):
        """POST data creating a row in branch A's scope."""
        raise NotImplementedError

    def foreign_create_data(self, tree):
        """POST data that a secretary of branch B must be refused (a foreign key from A's scope)."""
        raise NotImplementedError

    foreign_field = None  # the form field that carries the foreign key

    def created_rows(self, tree):
        """Queryset of the rows ``create_data`` / ``foreign_create_data`` would create."""
        raise NotImplementedError

    def edit_data(self, obj, tree):
        raise NotImplementedError

    def was_edited(self, obj):
        """Whether the row (re-read) carries ``edit_data``'s change."""
        raise NotImplementedError

    # Helpers -----------------------------------------------------------------------------

    def add_url(self):
        return reverse(self.add_url_name)

    def edit_url(self, obj):
        return reverse(self.edit_url_name, args=[obj.pk])

    # Create ------------------------------------------------------------------------------

    def test_create_by_secretary_writes_through_service(self, client, tree, secretary_a):
        login(client, secretary_a)
        assert client.get(self.add_url()).status_code == 200
        response = client.post(self.add_url(), self.create_data(tree))
        assert response.status_code == 302, response.context["form"].errors if response.context else response
        assert self.created_rows(tree).count() == 1
        assert client.get(response["Location"]).status_code == 200

    def test_create_with_foreign_key_from_other_scope_is_refused(self, client, tree, secretary_b):
        login(client, secretary_b)
        response = client.post(self.add_url(), self.foreign_create_data(tree))
        assert response.status_code == 200
        assert self.foreign_field in response.context["form"].errors
        assert self.created_rows(tree).count() == 0

    def test_create_is_403_for_department(self, client, tree, department):
        login(client, department)
        assert client.get(self.add_url()).status_code == 403
        assert client.post(self.add_url(), self.create_data(tree)).status_code == 403
        assert self.created_rows(tree).count() == 0

    def test_create_by_administrator(self, client, tree, administrator):
        login(client, administrator)
        response = client.post(self.add_url(), self.create_data(tree))
        assert response.status_code == 302, response.context["form"].errors if response.context else response
        assert self.created_rows(tree).count() == 1

    def test_list_offers_add_button_only_to_writers(self, client, tree, secretary_a, department):
        add_url = self.add_url()
        assert add_url in login(client, secretary_a).get(self.list_url()).content.decode()
        assert add_url not in login(client, department).get(self.list_url()).content.decode()

    # Edit --------------------------------------------------------------------------------

    def test_edit_by_secretary(self, client, tree, secretary_a):
        obj = self.make_object(tree)
        login(client, secretary_a)
        assert client.get(self.edit_url(obj)).status_code == 200
        response = client.post(self.edit_url(obj), self.edit_data(obj, tree))
        assert response.status_code == 302, response.context["form"].errors if response.context else response
        assert self.was_edited(obj)

    def test_edit_is_404_for_other_branch_secretary(self, client, tree, secretary_b):
        obj = self.make_object(tree)
        login(client, secretary_b)
        assert client.get(self.edit_url(obj)).status_code == 404
        assert client.post(self.edit_url(obj), self.edit_data(obj, tree)).status_code == 404
        assert not self.was_edited(obj)

    def test_edit_is_403_for_department(self, client, tree, department):
        obj = self.make_object(tree)
        login(client, department)
        assert client.get(self.edit_url(obj)).status_code == 403
        assert client.post(self.edit_url(obj), self.edit_data(obj, tree)).status_code == 403
        assert not self.was_edited(obj)

    def test_edit_by_administrator(self, client, tree, administrator):
        obj = self.make_object(tree)
        response = login(client, administrator).post(self.edit_url(obj), self.edit_data(obj, tree))
        assert response.status_code == 302, response.context["form"].errors if response.context else response
        assert self.was_edited(obj)

    def test_detail_offers_edit_only_to_writers(self, client, tree, secretary_a, department):
        obj = self.make_object(tree)
        edit_url = self.edit_url(obj)
        assert edit_url in login(client, secretary_a).get(self.detail_url(obj)).content.decode()
        assert edit_url not in login(client, department).get(self.detail_url(obj)).content.decode()


def make_member(organization, **kwargs):
    """A member of ``organization`` (MemberFactory with the business-owner flag it needs)."""
    from tests.factories import MemberFactory

    kwargs.setdefault("is_business_owner", False)
    return MemberFactory(organization=organization, **kwargs)
