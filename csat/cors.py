"""Cross-origin calls from the admin frontend on its own origin (CORS_ORIGINS).

By default the service sends no CORS headers at all: the frontend is served from the same
origin (behind the same nginx), and browsers need nothing more. With CORS_ORIGINS set
(a comma list of exact origins, e.g. `https://admin.example.com,http://localhost:3000`),
flask-cors answers those origins' preflight OPTIONS for the API's methods and the headers
the frontend sends, and exposes the response headers a download and a bug report need.
Any other origin gets no CORS headers, so its browser blocks the call.

Origins are compared exactly (case-insensitively, as browsers send them): each is given to
flask-cors as an anchored, escaped pattern, because flask-cors reads a plain string with
`[` (an IPv6 origin) as a regular expression. Tokens travel in the Authorization header,
never in cookies, so credentials stay off (no Access-Control-Allow-Credentials).
"""

import re

from flask_cors import CORS

ALLOWED_METHODS = ("GET", "POST", "PUT")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Locale-Id")
# Content-Disposition: an export keeps its file name; X-Request-Id: what to quote in a report.
EXPOSED_HEADERS = ("Content-Disposition", "X-Request-Id")
PREFLIGHT_MAX_AGE_SECONDS = 600


def init_app(app):
    origins = app.config["CSAT"].cors_origins
    if not origins:
        return
    CORS(app,
         resources={r"/csat(/.*)?": {}},
         origins=[re.compile(rf"{re.escape(origin)}\Z", re.IGNORECASE) for origin in origins],
         methods=list(ALLOWED_METHODS),
         allow_headers=list(ALLOWED_HEADERS),
         expose_headers=list(EXPOSED_HEADERS),
         supports_credentials=False,
         max_age=PREFLIGHT_MAX_AGE_SECONDS,
         vary_header=True)
