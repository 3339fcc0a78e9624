"""The browser side: the web component's files, its UI catalogs and the service worker.

Served from the ``gateway/web`` folder of the installed package with an ETag and
``Cache-Control: no-cache`` (the browser revalidates, so a new release is picked up at
once and an unchanged file costs a 304). Only known file types under that folder are
served; anything else is a 404.
"""

from __future__ import annotations

import functools
import hashlib
import re
from importlib import resources
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from gateway.errors import NotFound
from gateway.i18n import LOCALES
from gateway.web_catalog import ui_catalog

WEB_PACKAGE = "gateway"
WEB_FOLDER = "web"
CATALOGS = "i18n/"
TYPES = {
    "js": "text/javascript",
    "css": "text/css",
    "svg": "image/svg+xml",
    "png": "image/png",
    "html": "text/html",
    "webmanifest": "application/manifest+json",
}
# Lower-case names in folders, one known extension: no "..", no hidden files.
_SAFE_PATH = re.compile(r"^(?:[a-z0-9][a-z0-9_-]*/)*[a-z0-9][a-z0-9_.-]*\.([a-z]+)$")


class Asset:
    """One file's bytes, media type and ETag."""

    __slots__ = ("body", "etag", "media_type")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@functools.cache
def asset(path: str) -> Asset:
    """A file under ``gateway/web``; NotFound for anything not served."""
    match = _SAFE_PATH.match(path)
    if not match or match.group(1) not in TYPES or ".." in path:
        raise NotFound(f"no file {path!r}")
    item = resources.files(WEB_PACKAGE) / WEB_FOLDER
    for part in path.split("/"):
        item = item / part
    if not item.is_file():
        raise NotFound(f"no file {path!r}")
    return Asset(item.read_bytes(), TYPES[match.group(1)])


def asset_response(
    request: Request[Any, Any, Any], found: Asset, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """The file, or 304 when the browser's copy is current."""
    common = {"ETag": found.etag, "Cache-Control": "no-cache", **(headers or {})}
    if found.etag in (request.headers.get("if-none-match") or ""):
        return Response(b"", status_code=304, headers=common)
    return Response(found.body, media_type=found.media_type, headers=common)


def catalog_response(name: str) -> Response[dict[str, Any]]:
    """``i18n/da.json``: the UI text of one locale (see :mod:`gateway.web_catalog`)."""
    locale = name.removesuffix(".json")
    if not name.endswith(".json") or locale not in LOCALES:
        raise NotFound(f"no catalog {name!r}; there are {', '.join(LOCALES)} (.json)")
    return Response(ui_catalog(locale), headers={"Cache-Control": "no-cache"})


class WebController(Controller):
    include_in_schema = False

    @get("/web/{path:path}")
    async def file(self, request: Request[Any, Any, Any], path: FromPath[str]) -> Response[Any]:
        """The web component's modules and styles, and its UI text per locale."""
        path = path.lstrip("/")
        if path.startswith(CATALOGS):
            return catalog_response(path.removeprefix(CATALOGS))
        return asset_response(request, asset(path))

    @get("/sw.js")
    async def service_worker(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The service worker, at the root so its scope is the whole origin."""
        return asset_response(request, asset("sw.js"), headers={"Service-Worker-Allowed": "/"})
