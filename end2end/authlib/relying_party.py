"""Authlib, a Python relying party from PyPI, against a running Tokenflight (issue #32 point 7).

The code flow with PKCE whose authorization URL writes the space in `scope` as `%20` (RFC 3986,
what many server-side libraries send) and whose `state` holds `&`, `+`, `%`, `/` and non-ASCII,
signing in through the login form as a browser does; the ID token checked by Authlib's own
OpenID Connect rules (signature with the JWKS alone, `iss` from discovery, `aud`, `nonce`,
`at_hash`, `auth_time`); the access token checked as RFC 9068 says a resource server does; a
refresh (rotation), revocation (the next refresh is `invalid_grant`); and a machine client's
`client_credentials` grant with `client_secret_basic`, whose token is also checked by the JWKS.

Run by scripts/test.sh: BASE_URL is the server, started with OAUTH_CLIENTS_FILE naming
end2end/oidc/clients.json. Exits non-zero on the first failed check.
"""

import os
import sys
import unittest
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

BASE = os.environ["BASE_URL"]
PUBLIC = "tokenflight-public"
REDIRECT = "http://127.0.0.1:4711/callback"
MACHINE = ("machine", "machine-secret-0123456789")
# Every character a `state` may be corrupted by when a parameter is decoded twice.
STATE = "a&b+c%d/e é=f"


def discovery():
    return requests.get(urljoin(BASE, "/.well-known/openid-configuration"), timeout=10).json()


def sign_in_through_the_form(authorization_url):
    """Follows the authorization URL as a browser would, signing in through the form; the
    callback URL the provider sends the browser to."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=False, timeout=10)
    assert response.status_code == 303, response.status_code
    login = urljoin(BASE, response.headers["location"])
    assert urlsplit(login).path == "/login", login
    next_url = dict(parse_qsl(urlsplit(login).query))["next"]
    response = browser.post(
        urljoin(BASE, "/rpc/login"),
        data={"username": "alice", "password": "wonderland", "next": next_url},
        headers={"origin": BASE.rstrip("/")},
        allow_redirects=False,
        timeout=10,
    )
    assert response.headers["location"] == next_url, (response.status_code, response.text)
    response = browser.get(urljoin(BASE, next_url), allow_redirects=False, timeout=10)
    assert response.status_code == 303, (response.status_code, response.text)
    callback = response.headers["location"]
    assert callback.startswith(REDIRECT + "?"), callback
    return callback


class RelyingParty(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.metadata = discovery()
        cls.keys = KeySet.import_key_set(requests.get(cls.metadata["jwks_uri"], timeout=10).json())

    def verified(self, token):
        return jwt.decode(token, self.keys, algorithms=["ES256"])

    def code_flow(self):
        session = OAuth2Session(
            client_id=PUBLIC,
            redirect_uri=REDIRECT,
            scope="openid profile",
            code_challenge_method="S256",
            token_endpoint_auth_method="none",
            # Authlib treats a token as expired 60 s early by default: the whole lifetime of
            # the provider's default access tokens.
            leeway=5,
        )
        verifier, nonce = generate_token(48), generate_token(20)
        url, state = session.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            state=STATE,
        )
        self.assertEqual(state, STATE)
        # Authlib writes the space as `+`; RFC 3986 percent-encoding writes it `%20`.
        self.assertIn("scope=openid+profile", url)
        url = url.replace("scope=openid+profile", "scope=openid%20profile")
        callback = sign_in_through_the_form(url)
        # Authlib compares the callback's `state` with the one it sent, byte for byte.
        token = session.fetch_token(
            self.metadata["token_endpoint"],
            authorization_response=callback,
            code_verifier=verifier,
        )
        return session, token, nonce

    def test_code_flow_with_percent_20_scopes_refresh_and_revocation(self):
        session, token, nonce = self.code_flow()
        self.assertEqual(token["scope"], "openid profile")

        id_token = self.verified(token["id_token"])
        claims = CodeIDToken(
            id_token.claims,
            id_token.header,
            options={"iss": {"essential": True, "value": self.metadata["issuer"]}},
            params={"nonce": nonce, "client_id": PUBLIC, "access_token": token["access_token"]},
        )
        claims.validate()  # iss, aud, exp, iat, nonce, at_hash (OIDC Core §3.1.3.7)
        self.assertIn("at_hash", id_token.claims)
        self.assertIn("auth_time", id_token.claims)

        # RFC 9068 §4: typ at+jwt, the issuer of discovery, this API's audience.
        access = self.verified(token["access_token"])
        self.assertEqual(access.header["typ"], "at+jwt")
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.metadata["issuer"]},
            aud={"essential": True, "value": "tokenflight-api"},
            client_id={"essential": True, "value": PUBLIC},
        ).validate(access.claims)

        info = session.get(self.metadata["userinfo_endpoint"], timeout=10).json()
        self.assertEqual(info["sub"], "u-alice")

        first_refresh = token["refresh_token"]
        refreshed = session.refresh_token(self.metadata["token_endpoint"])
        self.assertNotEqual(refreshed["refresh_token"], first_refresh, "rotated")

        revoked = session.revoke_token(
            self.metadata["revocation_endpoint"],
            token=refreshed["refresh_token"],
            token_type_hint="refresh_token",
        )
        self.assertEqual(revoked.status_code, 200)
        with self.assertRaises(OAuthError) as refused:
            session.refresh_token(self.metadata["token_endpoint"])
        self.assertEqual(refused.exception.error, "invalid_grant")

    def test_client_credentials_with_client_secret_basic(self):
        self.assertIn("client_credentials", self.metadata["grant_types_supported"])
        machine = OAuth2Session(
            client_id=MACHINE[0],
            client_secret=MACHINE[1],
            token_endpoint_auth_method="client_secret_basic",
        )
        token = machine.fetch_token(
            self.metadata["token_endpoint"], grant_type="client_credentials"
        )
        self.assertNotIn("refresh_token", token)
        access = self.verified(token["access_token"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.metadata["issuer"]},
            sub={"essential": True, "value": MACHINE[0]},
        ).validate(access.claims)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
