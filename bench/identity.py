"""What checking a bearer token costs per request: `Authenticator.principal` (the header read,
the key found in the cached JWKS, PyJWT's signature and claim checks, the claims read into a
Principal), in this process, keys held (the JWKS fetch happens once, not per request).

    .venv/bin/python bench/identity.py [--tokens 3000]

Prints µs per validation for each algorithm a provider may sign with (the local issuer and
Keycloak's default: RS256): a token seen for the first time (the signature checked), and one
seen before (a client sends the same token until it expires: the validator remembers it).
Beside them the baseline of the static role tokens this replaced (a SHA-256 digest compared
in constant time against each configured token, 20 tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from _row import Row

ISSUER = "http://127.0.0.1:8009"
ALGORITHMS = ("RS256", "ES256", "EdDSA")


def _keys() -> dict[str, tuple[Any, dict[str, Any]]]:
    made = {"RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()), "EdDSA": ed25519.Ed25519PrivateKey.generate()}
    kinds = {"RS256": jwt.algorithms.RSAAlgorithm, "ES256": jwt.algorithms.ECAlgorithm, "EdDSA": jwt.algorithms.OKPAlgorithm}
    return {alg: (key, {**json.loads(kinds[alg].to_jwk(key.public_key())), "kid": alg, "use": "sig", "alg": alg}) for alg, key in made.items()}


def _authenticator(jwks: dict[str, Any]):
    from sangsaeng_common.http import Authenticator
    from sangsaeng_common.identity import Jwks, TokenValidator

    async def fetch(url: str) -> dict[str, Any]:
        return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"} if url.endswith("openid-configuration") else jwks

    keys = Jwks(ISSUER, None, ALGORITHMS, fetch=fetch)
    return Authenticator(TokenValidator(ISSUER, "sangsaeng", keys, algorithms=list(ALGORITHMS)))


def _tokens(private: Any, alg: str, n: int) -> list[str]:
    now = int(time.time())
    return [jwt.encode({"iss": ISSUER, "aud": "sangsaeng", "sub": f"P-{2001 + i % 8}", "role": "planner", "roles": ["planner"],
                        "planner_id": f"planner-{1 + i % 8:02d}", "iat": now, "nbf": now, "exp": now + 3600, "jti": f"{i:08x}"},
                       private, algorithm=alg, headers={"kid": alg}) for i in range(n)]


async def _first_sight_us(jwks: dict[str, Any], tokens: list[str], rounds: int = 3) -> float:
    """Every token new to the validator: each one's signature and claims checked."""
    best = float("inf")
    for _ in range(rounds):
        auth = _authenticator(jwks)
        await auth.principal(tokens[0])  # the JWKS fetched once, before the clock runs
        started = time.perf_counter()
        for token in tokens[1:]:
            await auth.principal(token)
        best = min(best, (time.perf_counter() - started) / (len(tokens) - 1) * 1e6)
    return best


async def _seen_before_us(jwks: dict[str, Any], tokens: list[str], rounds: int = 3) -> float:
    """A few clients' tokens, each sent again and again."""
    auth = _authenticator(jwks)
    clients = tokens[:20]
    for token in clients:
        await auth.principal(token)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(len(tokens)):
            await auth.principal(clients[i % len(clients)])
        best = min(best, (time.perf_counter() - started) / len(tokens) * 1e6)
    return best


def _static_lookup_us(n: int, configured: int = 20, rounds: int = 3) -> float:
    """The replaced scheme: AUTH_TOKENS kept as SHA-256 digests, each compared in constant time."""
    digests = [hashlib.sha256(f"token-{i}".encode()).digest() for i in range(configured)]
    presented = [f"token-{i % configured}" for i in range(n)]
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for token in presented:
            digest = hashlib.sha256(token.encode()).digest()
            for known in digests:
                hmac.compare_digest(known, digest)
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


async def figures(n: int) -> dict[str, float]:
    keys = _keys()
    jwks = {"keys": [jwk for _, jwk in keys.values()]}
    found: dict[str, float] = {}
    for alg, (private, _) in keys.items():
        tokens = _tokens(private, alg, n)
        found[f"{alg} first sight"] = await _first_sight_us(jwks, tokens)
        found[f"{alg} seen before"] = await _seen_before_us(jwks, tokens)
    found["static tokens (replaced)"] = _static_lookup_us(n)
    return found


async def measure(quick: bool) -> list[Row]:
    found = await figures(1000 if quick else 3000)
    baseline = found["static tokens (replaced)"]
    first, again = found["RS256 first sight"], found["RS256 seen before"]
    return [Row("bearer token check per request: JWT against the cached JWKS (RS256; PyJWT)",
                f"{first:,.0f} µs a new token, {again:,.1f} µs one seen before", f"{baseline:,.1f} µs (the static role tokens it replaced)",
                None, "new token < 200 µs (a request's own cost is ~1 ms)", first < 200,
                f"first sight ES256 {found['ES256 first sight']:,.0f} µs, EdDSA {found['EdDSA first sight']:,.0f} µs")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=3000)
    args = parser.parse_args()
    for what, us in asyncio.run(figures(args.tokens)).items():
        print(f"{what:>26}: {us:8.1f} µs per validation")


if __name__ == "__main__":
    main()
