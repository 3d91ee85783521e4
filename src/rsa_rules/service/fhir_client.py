"""Fetching prefetch data the CDS client did not send, from its FHIR server.

CDS Hooks 2.0: a prefetch key that is absent was not satisfied, and the service must fetch
that data itself, with the ``fhirAuthorization`` access token when one is given; when it
cannot (no FHIR server, or one not on this service's allow-list, or the server fails), the
service answers 412. A key sent as ``null`` means "no data" and is not fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["PrefetchError", "fetch_prefetch", "render_template"]

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
_MAX_PAGES = 20
_MAX_BYTES = 20 * 1024 * 1024


class PrefetchError(Exception):
    """Data needed for the decision support could not be obtained (answered with 412)."""


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """A prefetch template with its ``{{context.x}}`` and user tokens filled in."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("context."):
            found = context.get(name.removeprefix("context."))
            if isinstance(found, (str, int)) and not isinstance(found, bool) and str(found):
                return quote(str(found), safe="")
        elif name in _USER_TOKENS:
            user = context.get("userId")
            kind = _USER_TOKENS[name]
            if isinstance(user, str) and user.startswith(kind + "/"):
                return quote(user.removeprefix(kind + "/"), safe="")
        raise PrefetchError(f"the prefetch token {{{{{name}}}}} cannot be filled from the context")

    return _TOKEN.sub(value, template)


async def fetch_prefetch(
    http: httpx.AsyncClient,
    server: str,
    token: str | None,
    relative: str,
) -> Any:
    """GET one prefetch query from the FHIR server: the resource, a Bundle with every page
    (``next`` links on the same server followed), or None when a read finds nothing (404)."""
    base = server.rstrip("/") + "/"
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = base + relative.lstrip("/")
    document = await _get(http, url, headers, allow_missing=True)
    if document is None or document.get("resourceType") != "Bundle":
        return document
    entries = list(document.get("entry") or [])
    pages = 1
    next_url = _next_link(document)
    while next_url is not None:
        if not next_url.startswith(base):
            raise PrefetchError("the FHIR server's next page is on another server")
        pages += 1
        if pages > _MAX_PAGES:
            raise PrefetchError(f"the FHIR search returned more than {_MAX_PAGES} pages")
        page = await _get(http, next_url, headers, allow_missing=False)
        if page is None or page.get("resourceType") != "Bundle":
            raise PrefetchError("the FHIR server's next page is not a Bundle")
        entries.extend(page.get("entry") or [])
        next_url = _next_link(page)
    merged = {key: value for key, value in document.items() if key not in ("entry", "link")}
    if entries:
        merged["entry"] = entries
    return merged


async def _get(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], *, allow_missing: bool
) -> dict[str, Any] | None:
    try:
        response = await http.get(url, headers=headers)
    except httpx.HTTPError as error:
        raise PrefetchError(f"the FHIR server cannot be reached ({type(error).__name__})") from None
    if response.status_code in (404, 410) and allow_missing:
        return None
    if response.status_code != 200:
        raise PrefetchError(f"the FHIR server answered {response.status_code}")
    if len(response.content) > _MAX_BYTES:
        raise PrefetchError("the FHIR server's answer is too large")
    try:
        document = json.loads(response.content)
    except ValueError:
        raise PrefetchError("the FHIR server's answer is not JSON") from None
    if not isinstance(document, dict):
        raise PrefetchError("the FHIR server's answer is not a FHIR resource")
    return document


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url:
                return url
    return None
