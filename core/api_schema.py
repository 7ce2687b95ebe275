"""The OpenAPI schema's common parts: every operation documents its error responses.

Errors have two shapes: ``{"detail": "…"}`` (403 refused or not signed in, 404 not found or
outside your scope, 405, 415, 503) and, for 400, an object with a list of messages per field
(``non_field_errors`` for the whole request; nested for the items of a bulk request).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("Why the request was refused, in the request's language."))


VALIDATION_ERROR = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description=_("Invalid input: a list of messages per field (non_field_errors for the whole request)."),
)
ERRORS = {
    "403": OpenApiResponse(ErrorDetailSerializer, description=_("Not signed in, or your role may not do this.")),
    "404": OpenApiResponse(ErrorDetailSerializer, description=_("No such record in your scope, or no such page.")),
    "405": OpenApiResponse(ErrorDetailSerializer, description=_("Method not allowed.")),
    "415": OpenApiResponse(ErrorDetailSerializer, description=_("Send JSON.")),
    "503": OpenApiResponse(ErrorDetailSerializer, description=_("The database is unavailable; retry later.")),
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the error responses every endpoint may give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {"400": VALIDATION_ERROR, **ERRORS}
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
