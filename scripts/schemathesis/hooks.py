"""Schemathesis hooks for scripts/fuzz.sh: every generated request is made signed in.

The Bearer token comes from a real sign-in (as `admin`, so `/api/admin/stats` answers 200 too),
taken again every two seconds: the fuzzer itself ends sessions (`DELETE /api/sessions`,
`POST /api/demo/revoke-session`), and the next token must not be one of those.
"""

import os

import requests
import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"]


@schemathesis.auth(refresh_interval=2)
class SignedIn:
    def get(self, case, context):
        response = requests.post(
            f"{BASE_URL}/api/auth/login",
            json={"username": "admin", "password": "admin-secret"},
            # The cookie endpoints refuse requests no browser vouches for as same-site.
            headers={"Sec-Fetch-Site": "same-origin"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
