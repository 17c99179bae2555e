"""Tokens to admins: JWT verification, the permission decorator, and locale limits.

Tokens are minted elsewhere; we pin the one configured algorithm, require `exp` (and cap
the lifetime), enforce issuer and audience when configured, and then require the admin to
exist and be active. Every failure is a 401 Boom, never flask-jwt-extended's 422/{"msg"}.
"""

import time
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

import jwt
from flask import current_app, g, request
from flask_jwt_extended import JWTManager, create_access_token, current_user, verify_jwt_in_request

from csat import db
from csat.errors import BadRequest, Forbidden, Unauthorized, boom_response

MAX_TOKEN_BYTES = 8192  # far above any real admin token; stops 64 KB junk before decoding

# Permissions, as the admin platform names them.
MENU_CSAT = "menu-csat"
COMPANY_REQUEST_VIEW = "company-request-view"
CSAT_ADD_COMMENTS = "csat-add-comments"
CSAT_UPDATE_COMMENTS = "csat-update-comments"

_LOCALE_CACHE_SECONDS = 60
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
    manager.token_verification_loader(_claims_are_acceptable)
    manager.user_lookup_loader(_lookup_admin)

    # PyJWT errors that flask-jwt-extended does not map (e.g. InvalidKeyError).
    app.register_error_handler(jwt.PyJWTError, lambda exc: _unauthorized("Invalid token"))


def _claims_are_acceptable(header, claims):
    settings = current_app.config["CSAT"]
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


def _lookup_admin(header, claims):
    settings = current_app.config["CSAT"]
    admin_id = _admin_id(claims.get(settings.jwt_identity_claim))
    row = db.fetch_one("admin_get", {"admin_id": admin_id})
    if row is None or not row["active"]:
        return None
    db.read_after(row["read_position"], row["read_position_age_ms"])
    return Admin(
        id=row["id"],
        name=row["name"],
        permissions=_string_list(claims.get(settings.jwt_permissions_claim, [])),
        locales=_locale_list(claims.get(settings.jwt_locales_claim)),
    )


def authenticate():
    """Verify the request's token and set g.admin (raising a 401 response otherwise)."""
    header = request.headers.get("Authorization", "")
    if len(header) > MAX_TOKEN_BYTES:
        raise Unauthorized("Invalid token")
    verify_jwt_in_request()
    g.admin = current_user._get_current_object()
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


def known_locale_ids():
    """Locale ids, cached briefly; a miss refreshes, so a new locale is known at once."""
    cache = current_app.extensions.setdefault("csat_locales", {"ids": frozenset(), "at": 0.0})
    if time.monotonic() - cache["at"] > _LOCALE_CACHE_SECONDS:
        cache["ids"] = frozenset(row["id"] for row in db.fetch_all("locales_list", role="replica"))
        cache["at"] = time.monotonic()
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
    if value not in known_locale_ids():
        current_app.extensions["csat_locales"]["at"] = 0.0
        if value not in known_locale_ids():
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
