"""``{% load party_security %}``: ``{{ member|citizen_id_for:user }}`` shows the citizen ID in full
only to a user who may edit the member (use it on the member detail page only); everywhere else
use ``{{ member.masked_citizen_id }}``."""

from django import template

register = template.Library()


@register.filter
def citizen_id_for(member, user):
    return member.citizen_id_for(user) if member is not None else ""
