"""A browser's User-Agent string as a person reads it: "Chrome 131 on Windows 10", "Mobile Safari
17.4 on iOS 17.4 (iPhone)" (parsed with ``ua-parser``, the rules of Browserscope)."""

from functools import lru_cache

import ua_parser
from django.utils.translation import gettext as _


def _version(part):
    return ".".join(value for value in (part.major, part.minor) if value)


@lru_cache(maxsize=2048)
def _parsed(user_agent):
    result = ua_parser.parse(user_agent)
    browser = result.user_agent
    system = result.os
    device = result.device
    return (
        " ".join(filter(None, [browser.family, browser.major])) if browser else "",
        " ".join(filter(None, [system.family, _version(system)])) if system else "",
        device.family if device and device.family not in ("Other", "Mac", "") else "",
    )


def describe_device(user_agent):
    """A short, readable description of ``user_agent``; the string itself (shortened) when it names
    no known browser, e.g. a script's; empty when there is none."""
    user_agent = (user_agent or "").strip()
    if not user_agent:
        return ""
    browser, system, device = _parsed(user_agent)
    if not browser and not system:
        return user_agent if len(user_agent) <= 60 else f"{user_agent[:59]}…"
    text = _("%(browser)s on %(system)s") % {"browser": browser, "system": system} if system else browser
    if not browser:
        text = system
    return f"{text} ({device})" if device else text
