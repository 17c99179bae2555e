"""GET /csat/docs: Swagger UI on this service's OpenAPI document, every file served from here.

Swagger UI's files come from the flask-swagger-ui wheel (its `dist/` directory: Swagger UI's
own release build); only its files are used, not its blueprint, whose page holds an inline
script that the Content-Security-Policy below refuses. Nothing is fetched from another
host, so the page works on a network without internet access.

- No token, like the OpenAPI document it shows: the page holds no data. Its operations
  need the bearer token the user enters in Swagger's Authorize dialog (the document's
  `bearerAuth` scheme), which "Try it out" sends as `Authorization: Bearer ...`; it stays
  in the page's memory (persistAuthorization off), never in the browser's storage.
- Relative URLs only (the document is `openapi.json` next to `docs`, the files under
  `docs/<version>/`): the page loads wherever the service's /csat is reachable, e.g.
  behind deploy/nginx.conf, without knowing its host.
- Cache: the page is revalidated on every visit (it names the current files); each file's
  URL carries ASSETS_VERSION (Swagger UI's version and a digest of the initializer below),
  so it is cached for a year as immutable and an upgrade changes the URL.
- CSP: everything from 'self' only (scripts, styles, fonts, connections), plus `data:`
  images, which swagger-ui.css draws its icons with. No 'unsafe-inline' or 'unsafe-eval':
  the page has no inline script (its initializer is a file), and Swagger UI sets styles
  through the DOM, which style-src does not restrict (checked: no violation when operations
  are rendered and expanded; tests/test_api_docs_page.py).
- The files are static like Flask's own `static` endpoint (the view is named `static`), so
  the OpenAPI document lists the page but not them.
"""

import hashlib
from importlib.metadata import version
from importlib.resources import files

from flask import Blueprint, current_app, send_from_directory

from csat.errors import NotFound

SWAGGER_UI_DIST = files("flask_swagger_ui") / "dist"
# The Swagger UI files the page uses (the standalone preset and OAuth2 redirect are not).
SWAGGER_UI_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "index.css",
                              "favicon-32x32.png", "favicon-16x16.png"})
INITIALIZER_NAME = "csat-docs.js"
# The page's own script (a file: the policy allows no inline script). Swagger UI on the
# document next to this page; no validator badge (it would call an online validator); the
# plain layout, without the top bar whose box loads a document from any URL; a token given
# to Authorize kept in memory only.
INITIALIZER = """\
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""
ASSETS_VERSION = "{}-{}".format(version("flask-swagger-ui"),
                                hashlib.sha256(INITIALIZER.encode()).hexdigest()[:8])
PAGE = f"""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CSAT service API</title>
<link rel="stylesheet" href="docs/{ASSETS_VERSION}/swagger-ui.css">
<link rel="stylesheet" href="docs/{ASSETS_VERSION}/index.css">
<link rel="icon" type="image/png" href="docs/{ASSETS_VERSION}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="docs/{ASSETS_VERSION}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/{ASSETS_VERSION}/swagger-ui-bundle.js"></script>
<script src="docs/{ASSETS_VERSION}/{INITIALIZER_NAME}"></script>
</body>
</html>
"""
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
ONE_YEAR = 365 * 24 * 3600

bp = Blueprint("api_docs", __name__, url_prefix="/csat/docs")


@bp.get("")
def api_docs_page():
    """Interactive documentation of this API (Swagger UI; no token)."""
    response = current_app.response_class(PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.cache_control.no_cache = True
    return response


@bp.get(f"/{ASSETS_VERSION}/<name>", endpoint="static")
def asset(name):
    """One file of the page, cached for a year: another version of it has another URL."""
    response = _asset_response(name)
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    return response


def _asset_response(name):
    """The file named, or a 404 for a name the page does not use (as an unknown path answers)."""
    if name == INITIALIZER_NAME:
        return current_app.response_class(INITIALIZER, mimetype="text/javascript")
    if name not in SWAGGER_UI_FILES:
        raise NotFound("Not Found")
    response = send_from_directory(SWAGGER_UI_DIST, name, max_age=ONE_YEAR)
    response.direct_passthrough = False  # closed by werkzeug, so its access line is written
    return response


@bp.after_request
def forbid_sniffing(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
