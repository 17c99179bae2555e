"""Settings, read once from the environment.

Every setting has a documented default (README, "Configuration"). The service refuses to
start in production with a missing or placeholder JWT secret rather than accept tokens
signed with a key everybody knows.
"""

import os
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEV_SECRET = "dev-secret-change-me"  # the run command's demo key; refused in production

SUPPORTED_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512")
ADMIN_CACHE_SECONDS_MAX = 60


class ConfigError(RuntimeError):
    """A setting that makes starting the service unsafe or impossible."""


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _int_env(name, default):
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    database_read_url: str | None = None
    environment: str = "production"
    jwt_secret_key: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = 0
    jwt_max_lifetime_seconds: int = 86400
    jwt_identity_claim: str = "sub"
    jwt_permissions_claim: str = "permissions"
    jwt_locales_claim: str = "locales"
    # How long a worker may go on trusting that an admin exists and is active (csat/auth.py).
    admin_cache_seconds: float = 5.0
    time_zone: str = "UTC"
    flag_base_url: str = "https://assets.example.com/flags/"
    carrier_logo_base_url: str = "https://assets.example.com/carriers/"
    pool_max_size: int = 8
    pool_timeout_seconds: float = 2.0
    # libpq's connect_timeout; it treats anything below 2 s as 2 s.
    connect_timeout_seconds: int = 2
    replica_max_lag_ms: int = 30000
    replica_check_seconds: float = 1.0
    statement_timeout_ms: int = 5000
    # Each FETCH of an export's cursor is one statement: generous, but never unlimited.
    export_statement_timeout_ms: int = 60000
    max_exports_per_admin: int = 2
    # Data rows per XLSX sheet before the next sheet starts: Excel's limit. Not an environment
    # setting; tests lower it to see sheets continue.
    xlsx_rows_per_sheet: int = 1_048_575
    max_body_bytes: int = 64 * 1024
    retry_after_seconds: int = 5
    summary_min_sample: int = 30
    # A summary nobody asked for yet reads every matching rating: slow when large, never an error.
    summary_statement_timeout_ms: int = 120000
    cors_origins: tuple = ()  # exact origins allowed to call the API from a browser

    @property
    def is_production(self):
        return self.environment == "production"

    @property
    def uses_rsa(self):
        return self.jwt_algorithm.startswith("RS")

    @classmethod
    def from_env(cls, **overrides):
        threads = _int_env("GUNICORN_THREADS", 8)
        values = dict(
            database_url=_env("DATABASE_URL"),
            database_read_url=_env("DATABASE_READ_URL"),
            environment=_env("CSAT_ENV", "production").lower(),
            jwt_secret_key=_env("JWT_SECRET_KEY"),
            jwt_public_key=_read_key(_env("JWT_PUBLIC_KEY")),
            jwt_algorithm=_env("JWT_ALGORITHM", "HS256").upper(),
            jwt_issuer=_env("JWT_ISSUER"),
            jwt_audience=_env("JWT_AUDIENCE"),
            jwt_leeway_seconds=_int_env("JWT_LEEWAY_SECONDS", 0),
            jwt_max_lifetime_seconds=_int_env("JWT_MAX_LIFETIME_SECONDS", 86400),
            jwt_identity_claim=_env("JWT_IDENTITY_CLAIM", "sub"),
            jwt_permissions_claim=_env("JWT_PERMISSIONS_CLAIM", "permissions"),
            jwt_locales_claim=_env("JWT_LOCALES_CLAIM", "locales"),
            admin_cache_seconds=float(_env("ADMIN_CACHE_SECONDS", "5")),
            time_zone=_env("CSAT_TIMEZONE", "UTC"),
            flag_base_url=_env("FLAG_BASE_URL", cls.flag_base_url),
            carrier_logo_base_url=_env("CARRIER_LOGO_BASE_URL", cls.carrier_logo_base_url),
            # One connection per request thread, plus one for an export in flight.
            pool_max_size=_int_env("DB_POOL_MAX_SIZE", threads + 1),
            pool_timeout_seconds=float(_env("DB_POOL_TIMEOUT_SECONDS", "2")),
            connect_timeout_seconds=_int_env("DB_CONNECT_TIMEOUT_SECONDS", 2),
            replica_max_lag_ms=_int_env("DB_REPLICA_MAX_LAG_MS", 30000),
            replica_check_seconds=float(_env("DB_REPLICA_CHECK_SECONDS", "1")),
            statement_timeout_ms=_int_env("DB_STATEMENT_TIMEOUT_MS", 5000),
            export_statement_timeout_ms=_int_env("EXPORT_STATEMENT_TIMEOUT_MS", 60000),
            max_exports_per_admin=_int_env("MAX_EXPORTS_PER_ADMIN", 2),
            max_body_bytes=_int_env("MAX_BODY_BYTES", 64 * 1024),
            retry_after_seconds=_int_env("RETRY_AFTER_SECONDS", 5),
            summary_min_sample=_int_env("SUMMARY_MIN_SAMPLE", 30),
            summary_statement_timeout_ms=_int_env("SUMMARY_STATEMENT_TIMEOUT_MS", 120000),
            cors_origins=_origins_env("CORS_ORIGINS"),
        )
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self):
        if self.jwt_algorithm not in SUPPORTED_ALGORITHMS:
            raise ConfigError(
                f"JWT_ALGORITHM must be one of {', '.join(SUPPORTED_ALGORITHMS)}, "
                f"got {self.jwt_algorithm!r}"
            )
        if self.uses_rsa:
            if not self.jwt_public_key:
                raise ConfigError(f"JWT_ALGORITHM={self.jwt_algorithm} needs JWT_PUBLIC_KEY")
        elif self.is_production and self.jwt_secret_key in (None, DEV_SECRET):
            raise ConfigError(
                "JWT_SECRET_KEY is missing or is the development default; "
                "set a secret of at least 32 random bytes (or CSAT_ENV=development for demos)"
            )
        elif self.jwt_secret_key is None:
            raise ConfigError("JWT_SECRET_KEY is not set")
        if self.is_production and not self.uses_rsa and len(self.jwt_secret_key) < 32:
            raise ConfigError("JWT_SECRET_KEY must be at least 32 characters in production")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"CSAT_TIMEZONE {self.time_zone!r} is not a known time zone") from None
        if self.connect_timeout_seconds < 1 or self.replica_max_lag_ms < 0 or self.replica_check_seconds <= 0:
            raise ConfigError("DB_CONNECT_TIMEOUT_SECONDS must be >= 1, DB_REPLICA_MAX_LAG_MS >= 0 "
                              "and DB_REPLICA_CHECK_SECONDS > 0")
        if self.pool_max_size < 1:
            raise ConfigError("DB_POOL_MAX_SIZE must be at least 1")
        # The bound docs/operations.md promises for refusing a deactivated admin.
        if not 0 <= self.admin_cache_seconds <= ADMIN_CACHE_SECONDS_MAX:
            raise ConfigError(f"ADMIN_CACHE_SECONDS must be between 0 and {ADMIN_CACHE_SECONDS_MAX}")


# scheme://host[:port], nothing after: what a browser sends in Origin.
_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def _origins_env(name):
    """A comma list of exact origins; anything a browser never sends as Origin is refused."""
    origins = tuple(part.strip() for part in (_env(name) or "").split(",") if part.strip())
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ConfigError(
                f"{name}: {origin!r} is not an origin; write scheme://host[:port] exactly as "
                "the browser shows it, without a path or trailing slash (no wildcards)")
    return origins


def _read_key(value):
    """A PEM key given inline, or the path of a file holding it."""
    if value is None or value.startswith("-----BEGIN"):
        return value
    try:
        with open(value, encoding="ascii") as key_file:
            return key_file.read()
    except OSError as exc:
        raise ConfigError(f"JWT_PUBLIC_KEY: cannot read {value!r}: {exc.strerror}") from None
