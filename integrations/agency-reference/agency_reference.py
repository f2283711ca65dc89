#!/usr/bin/env python3
"""Reference agency integration for Sangsaeng referrals: the example an agency's developers copy.

It imports nothing from Sangsaeng. With a plain Kafka client (aiokafka), an HTTP client (httpx)
and a JSON Schema validator (jsonschema), it:

1. reads the agency's own topic `sangsaeng.agency.<CODE>.referrals` from the beginning, with
   its own consumer group (the committed offset is where it resumes next time);
2. checks each record's CloudEvents headers (binary content mode) and validates its value
   against the published JSON Schema `contracts/schemas/<ce_type>.json`;
3. a ReferralSent: answers through the agency API with the agency's access token (a JWT from
   the center's identity provider, got by the OAuth 2.0 client-credentials grant and got again
   before it expires or when the API answers 401): acknowledge (with
   the agency's own reference), then an outcome; both are idempotent (Idempotency-Key = the
   event's ce_id), so a crash between answering and committing the offset is harmless;
   a ReferralBasisLost (consent withdrawn, business erased): forgets the referral's personal
   data (`delete_personal_data`) and stops working it; a ReferralPersonalDataShared: the
   referral may now be worked with the owner's personal data (consent `consent_id`);
4. commits the offset only after the answers were accepted.

Every step prints one JSON line on stdout. Configuration: arguments or environment
(KAFKA_BOOTSTRAP_SERVERS, REFERRALS_API_URL, TOKEN_URL, CLIENT_ID, CLIENT_SECRET, AGENCY_CODE,
CONTRACTS_SCHEMAS; or AGENCY_TOKEN, a token got elsewhere).

    python agency_reference.py --agency SEOUL_CREDIT_GUARANTEE \
        --token-url http://127.0.0.1:8009/token --client-id G-SEOUL_CREDIT_GUARANTEE --client-secret sangsaeng-dev \
        --bootstrap-servers 127.0.0.1:9092 --api-url http://127.0.0.1:8004
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from aiokafka import AIOKafkaConsumer

REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type")
EXPECTED_SOURCE = "/sangsaeng/referrals"
HERE = Path(__file__).resolve().parent


def say(action: str, **fields: Any) -> None:
    print(json.dumps({"action": action, **fields}, ensure_ascii=False), flush=True)


class Invalid(Exception):
    """A record this integration refuses to act on."""


class Validator:
    def __init__(self, schemas_dir: Path):
        self.schemas_dir = schemas_dir
        self._cache: dict[str, jsonschema.protocols.Validator] = {}

    def for_type(self, ce_type: str) -> jsonschema.protocols.Validator:
        if ce_type not in self._cache:
            path = self.schemas_dir / f"{ce_type}.json"
            if "/" in ce_type or not path.exists():
                raise Invalid(f"no published schema for {ce_type!r}")
            schema = json.loads(path.read_text())
            cls = jsonschema.validators.validator_for(schema)
            self._cache[ce_type] = cls(schema, format_checker=cls.FORMAT_CHECKER)
        return self._cache[ce_type]

    def check(self, key: bytes | None, raw_headers: Any, value: bytes | None, agency: str) -> tuple[dict[str, str], dict[str, Any]]:
        """The record's CloudEvents headers and data, or Invalid."""
        headers = {k: v.decode() for k, v in raw_headers or ()}
        missing = [h for h in REQUIRED_HEADERS if not headers.get(h)]
        if missing:
            raise Invalid(f"missing CloudEvents headers {missing}")
        if headers["ce_specversion"] != "1.0" or headers["content-type"] != "application/json":
            raise Invalid("not a CloudEvents 1.0 JSON event")
        if headers["ce_source"] != EXPECTED_SOURCE:
            raise Invalid(f"unexpected source {headers['ce_source']!r}")
        try:
            data = json.loads(value or b"")
        except ValueError as exc:
            raise Invalid(f"value is not JSON: {exc}") from exc
        errors = sorted(self.for_type(headers["ce_type"]).iter_errors(data), key=lambda e: list(e.path))
        if errors:
            raise Invalid("; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors))
        if data.get("business_id") != headers["ce_subject"] or (key is not None and key.decode() != headers["ce_subject"]):
            raise Invalid("ce_subject, key and business_id disagree")
        if data.get("agency") != agency:
            raise Invalid(f"a referral for {data.get('agency')!r} on {agency}'s topic")
        return headers, data


def decide(data: dict[str, Any]) -> dict[str, Any]:
    """The agency's decision. A real integration asks its own systems; this one accepts, and
    issues a guarantee for the amount asked."""
    if data.get("program") == "loan_guarantee":
        return {"outcome": "guarantee_issued", "amount_krw": data.get("amount_krw") or 10_000_000, "note": "reference integration"}
    return {"outcome": "accepted", "note": "reference integration"}


class ClientCredentials(httpx.Auth):
    """OAuth 2.0 client-credentials (RFC 6749 4.4): a bearer token from the token endpoint, kept
    until a minute before it expires, and got anew once if the API answers 401 (keys rotated)."""

    requires_response_body = True

    def __init__(self, token_url: str, client_id: str, client_secret: str):
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.token: str | None = None
        self.good_until = 0.0

    def _token_request(self) -> httpx.Request:
        return httpx.Request("POST", self.token_url, data={"grant_type": "client_credentials", "client_id": self.client_id,
                                                           "client_secret": self.client_secret})

    def _keep(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise RuntimeError(f"token endpoint answered {response.status_code}: {response.text[:300]}")
        answer = response.json()
        self.token, self.good_until = answer["access_token"], time.monotonic() + float(answer.get("expires_in", 300)) - 60

    def auth_flow(self, request: httpx.Request):
        if self.token is None or time.monotonic() > self.good_until:
            self._keep((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            self._keep((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


class StaticToken(httpx.Auth):
    """A token got elsewhere (--token): sent as it is."""

    def __init__(self, token: str):
        self.token = token

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    """POST with retries on connection errors and 5xx (safe: the Idempotency-Key makes repeats harmless)."""
    delay = 0.5
    for attempt in range(8):
        try:
            response = await client.post(path, json=body, headers={"Idempotency-Key": key})
            if response.status_code < 500:
                return response
        except httpx.TransportError:
            if attempt == 7:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10)
    return response


async def answer(client: httpx.AsyncClient, headers: dict[str, str], data: dict[str, Any], agency: str) -> dict[str, Any]:
    referral_id, ce_id = data["referral_id"], headers["ce_id"]
    reference = f"{agency}-{referral_id[:8]}"
    ack = await post(client, f"/referrals/{referral_id}/acknowledge", {"agency_reference": reference}, f"ack-{ce_id}")
    if ack.status_code not in (200, 409):
        raise RuntimeError(f"acknowledge answered {ack.status_code}: {ack.text}")
    decision = decide(data)
    outcome = await post(client, f"/referrals/{referral_id}/outcome", decision, f"outcome-{ce_id}")
    if outcome.status_code not in (200, 409):
        raise RuntimeError(f"outcome answered {outcome.status_code}: {outcome.text}")
    return {"referral_id": referral_id, "agency_reference": reference, "acknowledge_status": ack.status_code,
            "outcome_status": outcome.status_code, **decision}


async def run(args: argparse.Namespace) -> int:
    topic = f"sangsaeng.agency.{args.agency}.referrals"
    validator = Validator(Path(args.schemas))
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=args.bootstrap_servers,
        group_id=args.group or f"agency-{args.agency}-reference",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10_000,
    )
    await consumer.start()
    say("started", topic=topic, agency=args.agency)
    refused = 0
    try:
        auth = StaticToken(args.token) if args.token else ClientCredentials(args.token_url, args.client_id, args.client_secret)
        async with httpx.AsyncClient(base_url=args.api_url, timeout=20, auth=auth) as client:
            idle_since = time.monotonic()
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=100)
                records = [r for rs in batch.values() for r in rs]
                if not records:
                    if args.exit_when_idle and consumer.assignment() and time.monotonic() - idle_since > args.exit_when_idle:
                        break
                    continue
                for record in records:
                    try:
                        headers, data = validator.check(record.key, record.headers, record.value, args.agency)
                    except Invalid as exc:
                        refused += 1
                        say("refused", partition=record.partition, offset=record.offset, error=str(exc))
                        continue  # a real integration alerts its operators here
                    name = headers["ce_type"].split(".")[2]
                    if name == "ReferralBasisLost":
                        # A real integration deletes the personal data it holds for the referral here.
                        say("basis_lost", ce_id=headers["ce_id"], ce_type=headers["ce_type"], referral_id=data["referral_id"],
                            basis=data["basis"], delete_personal_data=data["delete_personal_data"])
                        continue
                    if name == "ReferralPersonalDataShared":
                        say("personal_data_shared", ce_id=headers["ce_id"], ce_type=headers["ce_type"], referral_id=data["referral_id"],
                            consent_id=data["consent_id"])
                        continue
                    if name != "ReferralSent":
                        say("skipped", ce_id=headers["ce_id"], ce_type=headers["ce_type"])  # a tolerant reader
                        continue
                    say("received", ce_id=headers["ce_id"], ce_type=headers["ce_type"], referral_id=data["referral_id"],
                        agency=data["agency"], program=data["program"], personal_data_shared=data["personal_data_shared"])
                    say("answered", ce_id=headers["ce_id"], **await answer(client, headers, data, args.agency))
                await consumer.commit()  # only after every answer of the batch was accepted
                idle_since = time.monotonic()
    finally:
        await consumer.stop()
    say("stopped", refused=refused)
    return 0


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-servers", default=env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--api-url", default=env("REFERRALS_API_URL", "http://127.0.0.1:8004"))
    parser.add_argument("--token-url", default=env("TOKEN_URL"), help="the identity provider's token endpoint")
    parser.add_argument("--client-id", default=env("CLIENT_ID"), help="the agency's client id (development: G-<CODE>)")
    parser.add_argument("--client-secret", default=env("CLIENT_SECRET"))
    parser.add_argument("--token", default=env("AGENCY_TOKEN"), help="an access token got elsewhere, instead of the three above")
    parser.add_argument("--agency", default=env("AGENCY_CODE"), required=env("AGENCY_CODE") is None)
    parser.add_argument("--schemas", default=env("CONTRACTS_SCHEMAS", str(HERE.parents[1] / "contracts" / "schemas")))
    parser.add_argument("--group", default=env("AGENCY_GROUP_ID"), help="consumer group (default agency-<CODE>-reference)")
    parser.add_argument("--exit-when-idle", type=float, default=float(env("EXIT_WHEN_IDLE_S", "0")),
                        help="stop after this many seconds without records (0: run forever)")
    args = parser.parse_args(argv)
    if not args.token and not (args.token_url and args.client_id and args.client_secret):
        parser.error("give --token-url, --client-id and --client-secret (or --token)")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
