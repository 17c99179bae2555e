"""Token verification: every defect is a 401 Boom; a missing permission is a 403 Boom."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import create_app
from csat import db
from tests.servers import assert_boom, bearer, make_settings, make_token, sign

AGENTS = "/csat/agents/list"


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _now():
    return int(time.time())


def _inactive_admin_id(app):
    with app.app_context():
        with db.connection() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT min(id) FROM administrators WHERE NOT active")
            return cursor.fetchone()[0]


def test_valid_token_is_accepted(client):
    response = client.get(AGENTS, headers=bearer(make_token()))
    assert response.status_code == 200, response.get_json()


def test_numeric_and_string_identity_are_both_accepted(client):
    for identity in (1, "1"):
        response = client.get(AGENTS, headers=bearer(make_token(admin_id=identity)))
        assert response.status_code == 200


TOKEN_DEFECTS = {
    "no header": None,
    "not a bearer header": "Basic dXNlcjpwYXNz",
    "malformed": "Bearer not.a.jwt",
    "garbage segments": "Bearer abc",
    "empty bearer": "Bearer ",
    "alg none": "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(
        {"sub": 1, "permissions": ["menu-csat"], "exp": _now() + 600}) + ".",
    "wrong key": "Bearer " + sign({"sub": 1, "permissions": ["menu-csat"], "exp": _now() + 600},
                                  key="another-secret-0123456789abcdef0123456789"),
    "wrong algorithm": "Bearer " + sign({"sub": 1, "permissions": ["menu-csat"], "exp": _now() + 600},
                                        algorithm="HS512"),
    "expired": "Bearer " + make_token(permissions=["menu-csat"], expires_in=-120),
    "no exp": "Bearer " + sign({"sub": 1, "permissions": ["menu-csat"], "iat": _now()}),
    "not yet valid": "Bearer " + make_token(permissions=["menu-csat"], nbf=_now() + 600),
    "lifetime beyond the maximum": "Bearer " + make_token(permissions=["menu-csat"], expires_in=400 * 86400),
    "unknown admin": "Bearer " + make_token(admin_id=999_999, permissions=["menu-csat"]),
    "non-numeric identity": "Bearer " + make_token(admin_id="root", permissions=["menu-csat"]),
    "missing identity": "Bearer " + make_token(admin_id=None, permissions=["menu-csat"]),
    "permissions not a list": "Bearer " + sign({"sub": 1, "permissions": "menu-csat", "exp": _now() + 600}),
    "refresh token": "Bearer " + make_token(permissions=["menu-csat"], type="refresh"),
    "huge token": "Bearer " + "a" * 65536,
    "tampered payload": "Bearer " + (lambda t: t.split(".")[0] + "." + _b64(
        {"sub": 1, "permissions": ["menu-csat", "csat-add-comments"], "exp": _now() + 600}) + "." + t.split(".")[2])(
        make_token(permissions=["menu-csat"])),
}


@pytest.mark.parametrize("header", TOKEN_DEFECTS.values(), ids=TOKEN_DEFECTS.keys())
def test_token_defects_are_401_boom(client, header):
    headers = {"Authorization": header} if header is not None else {}
    assert_boom(client.get(AGENTS, headers=headers), 401)


def test_inactive_admin_is_401(app, client):
    admin_id = _inactive_admin_id(app)
    assert admin_id is not None, "the seed makes some admins inactive"
    body = assert_boom(client.get(AGENTS, headers=bearer(make_token(admin_id=admin_id))), 401)
    assert body["message"] == "Unknown or inactive admin"


def test_missing_permission_is_403_boom(client):
    response = client.get(AGENTS, headers=bearer(make_token(permissions=["csat-add-comments"])))
    assert_boom(response, 403, "Requires permission menu-csat")


@pytest.fixture(scope="module")
def strict_client(shared_db):
    app = create_app(make_settings(shared_db, jwt_issuer="https://auth.example.com",
                                   jwt_audience="csat", jwt_leeway_seconds=30))
    yield app.test_client()
    app.extensions["csat_db"].close()


@pytest.mark.parametrize("claims, status", [
    ({"iss": "https://auth.example.com", "aud": "csat"}, 200),
    ({"iss": "https://evil.example.com", "aud": "csat"}, 401),
    ({"iss": "https://auth.example.com", "aud": "other"}, 401),
    ({"aud": "csat"}, 401),
    ({"iss": "https://auth.example.com"}, 401),
])
def test_issuer_and_audience_enforced_when_configured(strict_client, claims, status):
    response = strict_client.get(AGENTS, headers=bearer(make_token(**claims)))
    assert response.status_code == status, response.get_json()
    if status == 401:
        assert_boom(response, 401)


def test_leeway_accepts_a_just_expired_token(strict_client):
    token = make_token(iss="https://auth.example.com", aud="csat", expires_in=-10)
    assert strict_client.get(AGENTS, headers=bearer(token)).status_code == 200


@pytest.fixture(scope="module")
def rsa_keys():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(scope="module")
def rsa_client(shared_db, rsa_keys):
    app = create_app(make_settings(shared_db, jwt_algorithm="RS256", jwt_public_key=rsa_keys[1],
                                   jwt_secret_key=None))
    yield app.test_client()
    app.extensions["csat_db"].close()


def test_rs256_token_is_accepted(rsa_client, rsa_keys):
    token = sign({"sub": "1", "permissions": ["menu-csat"], "exp": _now() + 600}, key=rsa_keys[0],
                 algorithm="RS256")
    assert rsa_client.get(AGENTS, headers=bearer(token)).status_code == 200


def test_hs256_signed_with_the_public_key_is_refused(rsa_client, rsa_keys):
    """Algorithm confusion: an attacker signs HS256 with the (public) RSA key."""
    header = _b64({"alg": "HS256", "typ": "JWT"})
    payload = _b64({"sub": "1", "permissions": ["menu-csat"], "exp": _now() + 600})
    signature = hmac.new(rsa_keys[1].encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    assert_boom(rsa_client.get(AGENTS, headers=bearer(token)), 401)
    assert_boom(rsa_client.get(AGENTS, headers=bearer(make_token())), 401)


def test_token_command_prints_a_working_token(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["token", "--admin", "1", "--permissions", "menu-csat", "--locales", "1,2"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert client.get(AGENTS, headers=bearer(token)).status_code == 200
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["permissions"] == ["menu-csat"] and claims["locales"] == [1, 2]
    assert claims["exp"] - claims["iat"] == 3600
