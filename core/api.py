"""Plumbing shared by the API of every app.

- :func:`api_exception_handler` turns the services' ``ValidationError`` (a dict of field →
  messages, the same translatable messages as the forms) into a 400 with a message per field,
  and ``PermissionDenied`` into a 403, so no service refusal becomes a 500.
- :class:`ScopedWritePermission`: reads see ``visible_to(user)`` (outsiders get 404 from the
  queryset); writes need the object in ``editable_by(user)``, else 403.
- :class:`ScopedSlugRelatedField`: foreign keys in payloads are codes resolved in the user's scope.
- :class:`ScopedViewSet`: the queryset gate, a stable order, JSON bodies, PATCH-only updates, the
  pages' filtersets (:class:`ApiFilterBackend`) and ``?page=``/``?page_size=`` (:class:`ApiPagination`).
- :class:`VersionField`: the optimistic-locking ``version`` a client sends back with a change.
"""

from contextlib import contextmanager

import django_filters
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, viewsets
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.dates import today
from core.filtersets import TreeWithinFilter
from core.scoping import scope_for
from core.services import errors_by_field

#: The largest number a PositiveIntegerField holds on every supported database.
MAX_INTEGER = 2_147_483_647


def validation_detail(exc, rename=None):
    """A Django ``ValidationError`` as DRF's error body: ``{"field": ["message", ...]}``."""
    rename = rename or {}
    detail = {}
    for field, messages in errors_by_field(exc):
        key = api_settings.NON_FIELD_ERRORS_KEY if field is None else rename.get(field, field)
        detail.setdefault(key, []).extend(messages)
    return detail


def api_exception_handler(exc, context):
    """DRF's handler, plus the services' Django exceptions and database refusals."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        # The same answer whether the record does not exist or lies outside the user's scope.
        exc = exceptions.NotFound()
    elif isinstance(exc, IntegrityError):
        # A concurrent request won a race the service's checks could not see: the database refused.
        exc = exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: [_("This change conflicts with another record. Reload and retry.")]}
        )
    return drf_exception_handler(exc, context)


def validated_payload(serializer_class, request):
    """The request body checked by ``serializer_class`` (400 with a message per field if invalid)."""
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@contextmanager
def service_errors(**rename):
    """Re-key a service's ``ValidationError`` to the payload's field names (``dissolved_on="on"``)."""
    try:
        yield
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(validation_detail(exc, rename)) from exc


class ScopedWritePermission(BasePermission):
    """Reads of what the queryset shows; writes only within ``editable_by`` (else 403).

    Creating (a write on a list route) asks the view's ``may_create(user)``, so a read-only role
    is refused with 403 before its payload is even validated.
    """

    message = gettext_lazy("Your role may only read these records.")

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS or getattr(view, "detail", False):
            return True
        return view.may_create(request.user)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        return view.editable_queryset().filter(pk=obj.pk).exists()


class ScopedSlugRelatedField(serializers.SlugRelatedField):
    """A foreign key given by its code, looked up only among the rows ``scope(user)`` returns.

    ``queryset`` names the model (for the schema); ``scope`` is a callable ``user → queryset``.
    A code outside the scope reads as unknown (400), never revealing that it exists.
    """

    default_error_messages = {
        "does_not_exist": gettext_lazy("No %(model)s with the code “{value}” in your scope."),
        "invalid": gettext_lazy("Give a code as text."),
    }

    def __init__(self, *, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return self.scope(user)

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            data = str(data)
        if not isinstance(data, str) or not data or "\x00" in data or len(data) > 300:
            self.fail("invalid")
        queryset = self.get_queryset()
        try:
            return queryset.get(**{self.slug_field: data})
        except queryset.model.DoesNotExist:
            message = self.error_messages["does_not_exist"] % {"model": queryset.model._meta.verbose_name}
            raise serializers.ValidationError(message.format(value=data), code="does_not_exist") from None


class VersionField(serializers.IntegerField):
    """The record's version (optimistic locking): read it, send it back with a change.

    Required on every change of an existing record (a PATCH, a lifecycle action): without it a
    change could silently overwrite someone else's (400). A change sent with an older version than
    the record's is refused (400, ``non_field_errors`` naming what changed meanwhile). Not asked
    when a record is created.
    """

    default_error_messages = {
        "required": gettext_lazy(
            "Send the version of the record you read (its “version”), so that no one else's change is overwritten."
        ),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_INTEGER)
        kwargs.setdefault(
            "help_text",
            gettext_lazy(
                "The version you read; required when changing a record, refused when older than the record's."
            ),
        )
        super().__init__(**kwargs)

    def changes_a_record(self):
        parent = self.parent
        return getattr(parent, "instance", None) is not None or getattr(parent, "changes_a_record", False)

    def validate_empty_values(self, data):
        if data is empty and self.changes_a_record():
            self.fail("required")
        return super().validate_empty_values(data)


class VersionedActionSerializer(serializers.Serializer):
    """Payload of a lifecycle action on an existing record, with the version it was based on."""

    changes_a_record = True
    version = VersionField()


class ParentCodeField(ScopedSlugRelatedField):
    """A tree node's parent by code, read from the ``parent_code`` annotation (no query per row)."""

    def get_attribute(self, instance):
        if hasattr(instance, "parent_code"):
            return instance.parent_code
        parent = type(instance).objects.get_parent(instance) if instance.pk else None
        return parent.code if parent is not None else None

    def to_representation(self, value):
        return value


class ServiceModelSerializer(serializers.ModelSerializer):
    """A model serializer whose writes go through a service: no model-level validators here.

    Uniqueness and the domain rules are the service's (one rule, one place, the same messages as
    the forms); the serializer only checks types, lengths and ranges, and finds codes in scope.
    """

    def get_validators(self):
        return []

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        field_kwargs.pop("validators", None)
        if issubclass(field_class, serializers.IntegerField):
            field_kwargs.setdefault("max_value", MAX_INTEGER)
        return field_class, field_kwargs

    @property
    def acting_user(self):
        return self.context["request"].user

    def changed_fields(self, instance, validated_data):
        """The values of ``validated_data`` that differ from ``instance``'s: a PATCH that changes
        nothing writes nothing (no new version, no history row)."""
        return {
            name: value
            for name, value in validated_data.items()
            if not hasattr(instance, name) or getattr(instance, name) != value
        }


class ApiFilterBackend(DjangoFilterBackend):
    """The pages' filtersets, with number filters bounded so a huge value is a 400, not an overflow."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        for name, declared in filterset.filters.items():
            if isinstance(declared, django_filters.NumberFilter) and name in filterset.form.fields:
                low, high = (1, 9999) if declared.lookup_expr == "year" else (-MAX_INTEGER, MAX_INTEGER)
                filterset.form.fields[name].validators += [MinValueValidator(low), MaxValueValidator(high)]
        return filterset


class ApiPagination(PageNumberPagination):
    """``?page=N`` (and ``?page_size=``, at most 500); lists are ordered by a unique key, so pages are stable."""

    page_size_query_param = "page_size"
    max_page_size = 500


class AsOfMixin:
    """``?as_of=`` of a tree's list (organisations, localities): the tree of that date."""

    def as_of(self):
        """The date asked (None: today's tree, also for today or later); an invalid date is a 400
        naming it."""
        raw = self.request.query_params.get("as_of")
        if not raw:
            return None
        try:
            value = serializers.DateField().to_internal_value(raw)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"as_of": exc.detail}) from exc
        if not 1930 <= value.year <= 2200:
            raise serializers.ValidationError({"as_of": [_("Give a date between 1930 and 2200.")]})
        return None if value >= today() else value


class ScopedViewSet(viewsets.GenericViewSet):
    """Rows from ``Model.objects.visible_to(user)``; writes gated by ``editable_by(user)``.

    Subclasses name ``model``, ``ordering`` (ending in a unique key, so pages are stable) and
    optionally ``list_relations`` (``select_related``) and ``prefetch`` (``prefetch_related``).
    """

    model = None
    ordering = ("id",)
    list_relations = ()
    prefetch = ()
    permission_classes = [IsAuthenticated, ScopedWritePermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    parser_classes = [JSONParser]
    filter_backends = [ApiFilterBackend]
    pagination_class = ApiPagination

    def get_queryset(self):
        queryset = self.model.objects.visible_to(self.request.user)
        if self.list_relations:
            queryset = queryset.select_related(*self.list_relations)
        if self.prefetch:
            queryset = queryset.prefetch_related(*self.prefetch)
        return queryset.order_by(*self.ordering)

    def editable_queryset(self):
        return self.model.objects.editable_by(self.request.user)

    def may_create(self, user):
        """Administrators and secretaries record things; department staff only read."""
        return scope_for(user).may_write


# The pages' tree filters take the id of an organisation or locality; tell the schema so.
extend_schema_field(OpenApiTypes.INT)(TreeWithinFilter)
