"""Per-request authentication cost: JWT access-token validation and API-key authentication
through the real DRF authentication classes, beside a bare dict lookup in the same run.

Run: ``.venv/bin/python bench/auth.py [--requests 5000] [--rounds 3]``
(``DATABASE_URL=postgres://postgres@127.0.0.1:5432/dsta`` to measure on PostgreSQL).

It creates a throwaway database the way the test runner does (a ``test_`` copy of the one
``DATABASE_URL`` names), migrates it, makes a trader with a token session and an API key, and
times, per request (a DRF ``Request`` around a fresh Django request carrying the header):

1. baseline: the header looked up in a dict of known principals (what a cache hit would cost);
2. JWT decode only: signature, expiry, issuer and claims, no database;
3. ``BearerTokenAuthentication``: decode + the session/user check (one indexed query);
4. ``ApiKeyAuthentication``: key parse, row by prefix + user, SHA-256, constant-time compare,
   roles (a second query); the last-used write is throttled to once a minute, so it is ~free.

Each figure is the best of ``--rounds`` rounds.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def _best_rate(work: Callable[[], Any], requests: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(requests):
            work()
        best = min(best, time.perf_counter() - start)
    return requests / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsta.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from domains.core.http.authentication import ApiKeyAuthentication, BearerTokenAuthentication
    from domains.core.services.api_keys import api_key_create
    from domains.core.services.roles import user_set_role
    from domains.core.services.tokens import ACCESS, decode_token, session_start

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_user(username="bench-trader")
        user_set_role(user=user, role="trader")
        access = session_start(user=user).access
        _, key = api_key_create(user_id=user.pk, scopes=["read", "trade"])
        bearer_header, key_header = f"Bearer {access}", f"Api-Key {key}"
        factory = APIRequestFactory()
        bearer_auth, key_auth = BearerTokenAuthentication(), ApiKeyAuthentication()
        known = {bearer_header: ("principal",), key_header: ("principal",)}

        def request_with(header: str) -> Request:
            return Request(factory.get("/api/v1/auth/validate", HTTP_AUTHORIZATION=header))

        def baseline() -> Any:
            return known[request_with(bearer_header).META["HTTP_AUTHORIZATION"]]

        def jwt_decode_only() -> Any:
            request = request_with(bearer_header)
            return decode_token(request.META["HTTP_AUTHORIZATION"][7:], expected_type=ACCESS)

        def bearer() -> Any:
            result = bearer_auth.authenticate(request_with(bearer_header))
            assert result is not None
            return result

        def api_key() -> Any:
            result = key_auth.authenticate(request_with(key_header))
            assert result is not None
            return result

        vendor = connection.vendor
        rows = [
            ("baseline: dict lookup of the header", baseline),
            ("JWT decode only (HS256, no DB)", jwt_decode_only),
            ("BearerTokenAuthentication (JWT + session check)", bearer),
            ("ApiKeyAuthentication (lookup + SHA-256 + roles)", api_key),
        ]
        print(f"database: {vendor}; {args.requests} requests x best of {args.rounds} rounds")
        print(f"{'what':<52} {'per second':>12} {'µs/request':>11}")
        for name, work in rows:
            rate = _best_rate(work, args.requests, args.rounds)
            print(f"{name:<52} {rate:>12,.0f} {1e6 / rate:>11.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
