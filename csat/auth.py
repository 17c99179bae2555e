"""Tokens to admins: JWT verification, the permission decorator, and locale limits.

Tokens are minted elsewhere; we pin the one configured algorithm, require `exp` (and cap
the lifetime), enforce issuer and audience when configured, and then require the admin to
exist and be active. Every failure is a 401 Boom, never flask-jwt-extended's 422/{"msg"}.

A token is verified with one PyJWT decode (flask-jwt-extended's verify_jwt_in_request
decoded it twice and read its header twice more), and its claims are kept for the token's
next requests, which only check `exp` (VerifiedTokens);
flask-jwt-extended still mints tokens and keeps its loaders as the net for any PyJWT
error raised elsewhere. Permissions and locales come from the token on every request.
Whether the admin exists and is active comes from the database, remembered per worker for
ADMIN_CACHE_SECONDS (docs/operations.md): a deactivated admin is refused within that time
on reads, and at once on writes, which always ask the database.
"""

import re
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

import jwt
from flask import current_app, g, request
from flask_jwt_extended import JWTManager, create_access_token

from csat import db
from csat.errors import BadRequest, Forbidden, Unauthorized, boom_response

MAX_TOKEN_BYTES = 8192  # far above any real admin token; stops 64 KB junk before decoding

# Permissions, as the admin platform names them.
MENU_CSAT = "menu-csat"
COMPANY_REQUEST_VIEW = "company-request-view"
CSAT_ADD_COMMENTS = "csat-add-comments"
CSAT_UPDATE_COMMENTS = "csat-update-comments"

_LOCALE_CACHE_SECONDS = 60
# An unknown localeId reads the locales again only when the list is older than this: a new
# locale is known within it, and a stream of unknown ids costs one query per interval.
_LOCALE_MISS_REFRESH_SECONDS = 1
_CREDENTIAL_SEPARATOR = re.compile(r",\s*")
# Requests that may use a remembered admin; anything else (a write) asks the database.
_READ_METHODS = frozenset({"GET", "HEAD"})
LOCALE_ID_MAX = 32767  # locales.id is a smallint: a larger id in a token would fail the SQL cast


@dataclass(frozen=True)
class Admin:
    id: int
    name: str
    permissions: frozenset
    locales: tuple | None  # None: the token sets no locale limit


def current_admin() -> Admin:
    return g.admin


def jwt_config(settings):
    """flask-jwt-extended settings derived from ours."""
    config = {
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ALGORITHM": settings.jwt_algorithm,
        "JWT_DECODE_ALGORITHMS": [settings.jwt_algorithm],
        "JWT_IDENTITY_CLAIM": settings.jwt_identity_claim,
        "JWT_DECODE_LEEWAY": settings.jwt_leeway_seconds,
        "JWT_DECODE_ISSUER": settings.jwt_issuer,
        "JWT_DECODE_AUDIENCE": settings.jwt_audience,
        "JWT_ENCODE_ISSUER": settings.jwt_issuer,
        "JWT_ENCODE_AUDIENCE": settings.jwt_audience,
        # The platform's tokens carry numeric ids in `sub`; PyJWT >= 2.10 rejects those.
        "JWT_VERIFY_SUB": False,
        "JWT_ERROR_MESSAGE_KEY": "message",
    }
    if settings.uses_rsa:
        config["JWT_PUBLIC_KEY"] = settings.jwt_public_key
        config["JWT_PRIVATE_KEY"] = None
    else:
        config["JWT_SECRET_KEY"] = settings.jwt_secret_key
    return config


def _unauthorized(message="Missing or invalid token"):
    return boom_response(401, message)


def init_app(app):
    app.config.update(jwt_config(app.config["CSAT"]))
    manager = JWTManager(app)

    manager.unauthorized_loader(lambda reason: _unauthorized("Missing or invalid token"))
    manager.invalid_token_loader(lambda reason: _unauthorized("Invalid token"))
    manager.expired_token_loader(lambda header, data: _unauthorized("Token expired"))
    manager.needs_fresh_token_loader(lambda header, data: _unauthorized("Fresh token required"))
    manager.revoked_token_loader(lambda header, data: _unauthorized("Token revoked"))
    manager.user_lookup_error_loader(lambda header, data: _unauthorized("Unknown or inactive admin"))
    manager.token_verification_failed_loader(lambda header, data: _unauthorized("Invalid token claims"))

    # PyJWT errors that flask-jwt-extended does not map (e.g. InvalidKeyError).
    app.register_error_handler(jwt.PyJWTError, lambda exc: _unauthorized("Invalid token"))
    app.extensions["csat_admins"] = AdminCache(app.config["CSAT"].admin_cache_seconds)
    app.extensions["csat_tokens"] = VerifiedTokens()


def _bearer_token():
    """The one Bearer credential of the Authorization header, read as flask-jwt-extended
    reads it (comma-joined credentials are legal HTTP; exactly one may be a Bearer)."""
    header = request.headers.get("Authorization", "")
    if len(header) > MAX_TOKEN_BYTES:
        raise Unauthorized("Invalid token")
    credentials = _CREDENTIAL_SEPARATOR.split(header.strip().strip(","))
    bearers = [value.split() for value in credentials if value.split()[:1] == ["Bearer"]]
    if len(bearers) != 1:
        raise Unauthorized("Missing or invalid token")
    if len(bearers[0]) != 2:
        raise Unauthorized("Invalid token")
    return bearers[0][1]


class VerifiedTokens:
    """The claims of tokens this worker accepted, by the exact token text.

    An admin sends the same token with every request until it expires. Of what verifying it
    checks, only `exp` can change its answer as time passes (a valid signature, issuer,
    audience, `nbf` or `iat` stays valid, and our own claim checks only grow more lenient),
    so a token seen before is checked for expiry alone. Only accepted tokens are kept, and
    a hit needs the very same signature, so nothing an attacker sends is trusted unverified.
    """

    MAX_ENTRIES = 4096

    def __init__(self):
        self._claims = {}
        self._lock = threading.Lock()

    def get(self, token):
        return self._claims.get(token)

    def put(self, token, claims):
        with self._lock:
            if len(self._claims) >= self.MAX_ENTRIES:
                self._claims.clear()
            self._claims[token] = claims


def _verified_claims(token, settings):
    """The token's claims, signature and registered claims checked; 401 otherwise."""
    verified = current_app.extensions["csat_tokens"]
    claims = verified.get(token)
    if claims is not None:
        # PyJWT's own test: expired once `exp` (as an integer) is not after now - leeway.
        if int(claims["exp"]) <= time.time() - settings.jwt_leeway_seconds:
            raise Unauthorized("Token expired")
        return claims
    claims = _decoded_claims(token, settings)
    verified.put(token, claims)
    return claims


def _decoded_claims(token, settings):
    """The token's claims, verified by PyJWT and by our claim checks; 401 otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_public_key if settings.uses_rsa else settings.jwt_secret_key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            # The platform's tokens carry numeric ids in `sub`; PyJWT >= 2.10 rejects those.
            options={"verify_aud": settings.jwt_audience is not None, "verify_sub": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Token expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("Invalid token") from None
    if settings.jwt_identity_claim not in claims or claims.get("type") == "refresh":
        raise Unauthorized("Invalid token")
    if not _claims_are_acceptable(claims, settings):
        raise Unauthorized("Invalid token claims")
    return claims


def _claims_are_acceptable(claims, settings):
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        return False
    issued = claims.get("iat", time.time())
    if not isinstance(issued, (int, float)) or expires - issued > settings.jwt_max_lifetime_seconds:
        return False
    if expires - time.time() > settings.jwt_max_lifetime_seconds + settings.jwt_leeway_seconds:
        return False
    # PyJWT reads a numeric string as nbf; and only an access token (or one without a type)
    # is a credential here: an ID or refresh token of the same issuer is not.
    nbf = claims.get("nbf", 0)
    if not isinstance(nbf, (int, float)) or isinstance(nbf, bool) or claims.get("type", "access") != "access":
        return False
    return (
        _admin_id(claims.get(settings.jwt_identity_claim)) is not None
        and _string_list(claims.get(settings.jwt_permissions_claim, [])) is not None
        and _locale_list(claims.get(settings.jwt_locales_claim)) is not False
    )


def _admin_id(identity):
    """Numeric ids arrive as numbers or strings; anything else is not an admin."""
    if isinstance(identity, bool):
        return None
    if isinstance(identity, int) and 0 < identity < 2**31:
        return identity
    if isinstance(identity, str) and identity.isascii() and identity.isdigit() and len(identity) < 10:
        value = int(identity)
        return value if value > 0 else None
    return None


def _string_list(value):
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    return None


def _locale_list(value):
    """None when absent; a tuple of ids; False when malformed."""
    if value is None:
        return None
    ids = [_admin_id(item) for item in value] if isinstance(value, list) else [None]
    if all(item is not None and item <= LOCALE_ID_MAX for item in ids):
        return tuple(sorted(set(ids)))
    return False


class AdminCache:
    """Active admins' rows (sql/admin_get.sql) as read at most `seconds` ago, per worker.

    An entry is dated by when its query was sent, so a row read before a deactivation
    committed is never used longer than `seconds` after it. Only signed tokens reach the
    lookup, so the entries are bounded by the real admins; the bound below only caps memory.
    """

    MAX_ENTRIES = 10000

    def __init__(self, seconds):
        self.seconds = seconds
        self._rows = {}
        self._lock = threading.Lock()

    def get(self, admin_id):
        entry = self._rows.get(admin_id)
        if entry is not None and time.monotonic() - entry[0] < self.seconds:
            return entry[1]
        return None

    def put(self, admin_id, asked_at, row):
        with self._lock:
            if len(self._rows) >= self.MAX_ENTRIES:
                self._rows.clear()
            self._rows[admin_id] = (asked_at, row)

    def forget(self, admin_id):
        with self._lock:
            self._rows.pop(admin_id, None)


def _active_admin_row(admin_id):
    """admin_get's row for an active admin; 401 for an unknown or inactive one.

    A write, or a worker reading from a replica (whose read-your-writes needs the admin's
    current read position), always asks the database.
    """
    cache = current_app.extensions["csat_admins"]
    remembered = request.method in _READ_METHODS and not db.database().has_replica
    row = cache.get(admin_id) if remembered else None
    if row is None:
        asked_at = time.monotonic()
        row = db.fetch_one("admin_get", {"admin_id": admin_id})
        if row is None or not row["active"]:
            cache.forget(admin_id)
            raise Unauthorized("Unknown or inactive admin")
        cache.put(admin_id, asked_at, row)
    return row


def authenticate():
    """Verify the request's token and set g.admin (raising a 401 response otherwise)."""
    settings = current_app.config["CSAT"]
    claims = _verified_claims(_bearer_token(), settings)
    row = _active_admin_row(_admin_id(claims.get(settings.jwt_identity_claim)))
    db.read_after(row["read_position"], row["read_position_age_ms"])
    g.admin = Admin(
        id=row["id"],
        name=row["name"],
        permissions=_string_list(claims.get(settings.jwt_permissions_claim, [])),
        locales=_locale_list(claims.get(settings.jwt_locales_claim)),
    )
    g.admin_id = g.admin.id


def require_permission(*any_of):
    """Decorator: a valid token whose admin holds at least one of the permissions."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            authenticate()
            if not g.admin.permissions.intersection(any_of):
                raise Forbidden(f"Requires permission {' or '.join(any_of)}")
            return view(*args, **kwargs)

        wrapper.permissions = any_of
        return wrapper

    return decorator


def known_locale_ids(max_age_seconds=_LOCALE_CACHE_SECONDS):
    """Locale ids, read again when the list is older than max_age_seconds."""
    cache = current_app.extensions.setdefault("csat_locales", {"ids": frozenset(), "at": None})
    if cache["at"] is None or time.monotonic() - cache["at"] > max_age_seconds:
        asked_at = time.monotonic()
        cache["ids"] = frozenset(row["id"] for row in db.fetch_all("locales_list", role="replica"))
        cache["at"] = asked_at
    return cache["ids"]


def requested_locale_id(query_value):
    """The caller's localeId: the query parameter, else the X-Locale-Id header, else None.

    Both are checked when present: a malformed header is a 400 even when the query wins,
    never silently ignored.
    """
    header_id = _locale_id(request.headers.get("X-Locale-Id"), "headers")
    query_id = _locale_id(query_value, "query")
    return query_id if query_id is not None else header_id


def _locale_id(raw, source):
    """A known locale id from one source, None when absent; 400 otherwise.

    An empty query value is absent (a cleared DataTables filter); an empty header is not.
    """
    if raw is None or (source == "query" and raw.strip() == ""):
        return None
    value = _admin_id(raw.strip())
    if value is None:
        raise BadRequest('"localeId" must be a locale id',
                         validation={"source": source, "keys": ["localeId"]})
    if value not in known_locale_ids() and value not in known_locale_ids(_LOCALE_MISS_REFRESH_SECONDS):
        raise BadRequest(f'"localeId" {value} is not a known locale',
                         validation={"source": source, "keys": ["localeId"]})
    return value


def visible_locale_ids(query_value=None):
    """Locale ids the request may see: None means all of them."""
    requested = requested_locale_id(query_value)
    allowed = g.admin.locales
    if requested is not None:
        if allowed is not None and requested not in allowed:
            raise Forbidden(f"No access to locale {requested}")
        return [requested]
    return list(allowed) if allowed is not None else None


def mint_token(admin_id, permissions, locales=None, expires_in=3600):
    """A token for this service's own key (the `flask token` command and tests)."""
    settings = current_app.config["CSAT"]
    if settings.uses_rsa:
        raise RuntimeError("with RS256 tokens are minted by the issuer holding the private key")
    claims = {settings.jwt_permissions_claim: list(permissions)}
    if locales is not None:
        claims[settings.jwt_locales_claim] = list(locales)
    return create_access_token(identity=str(admin_id), additional_claims=claims,
                               expires_delta=timedelta(seconds=expires_in))
