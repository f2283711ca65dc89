"""What the cross-service tests share: a real stack per test, service processes, polling."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from sangsaeng_common.contracts import Event
from sangsaeng_common.envelope import Envelope
from sangsaeng_devstack.processes import ServiceProcess
from sangsaeng_devstack.provision import ServiceDatabase, database_url
from sangsaeng_demo.client import IssuerTokens
from sangsaeng_devstack.issuer import DEV_PASSWORD, Issuer
from sangsaeng_devstack.users import DEV_USERS, user

T = TypeVar("T")

_ISSUER: list[Issuer] = []


def issuer() -> Issuer:
    """This test run's identity provider: the development issuer on a free port, on a thread of
    this process. Services started by `Stack` trust it and fetch its JWKS over HTTP."""
    if not _ISSUER:
        _ISSUER.append(Issuer(port=0, token_ttl_s=6 * 3600).start())  # outlives the longest run
    return _ISSUER[0]


def token_for(subject: str, **changes: Any) -> str:
    """A real access token of one development user, signed by this run's issuer."""
    return issuer().token_for(subject, **changes)


#: One development user per role, for the suites that try every role (access, hostile input).
SUBJECT_OF_ROLE = {"staff": "S-1001", "planner": "P-2001", "loan_officer": "L-3001", "auditor": "A-4001", "operator": "O-5001",
                   "agency": "G-SEMAS"}


def refused_tokens() -> dict[str, str]:
    """Tokens every authenticated route must answer 401: each is wrong in one way only (S-1001's, otherwise valid)."""
    import jwt

    from sangsaeng_devstack.issuer import SigningKey

    now = int(time.time())
    claims = issuer().claims_for("S-1001")
    forger = SigningKey(issuer().keys[-1].kid, SigningKey.generate().private)  # the issuer's kid, another key
    return {
        "expired": token_for("S-1001", iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "wrong audience": token_for("S-1001", aud="account"),
        "wrong issuer": token_for("S-1001", iss="http://127.0.0.1:1/not-ours"),
        "wrongly signed": issuer().sign(claims, key=forger),
        "unsigned (alg none)": jwt.encode(claims, None, algorithm="none", headers={"kid": forger.kid}),
        "malformed": "not-a-token",
    }


def demo_tokens() -> IssuerTokens:
    """The demo client's tokens for this run: the password grant at this run's issuer, over HTTP."""
    return IssuerTokens(issuer().url, DEV_PASSWORD)


_HEADERS: dict[str, tuple[float, dict[str, str]]] = {}


def headers_for(subject: str) -> dict[str, str]:
    """The Authorization header of one development user (e.g. "P-2001", planner-01's person):
    a JWT from this run's issuer, made once and reused while it has more than ten minutes to run."""
    user(subject)  # a typo fails here, not as a 401 later
    made = _HEADERS.get(subject)
    if made is None or made[0] < time.time() + 600:
        _HEADERS[subject] = made = (time.time() + issuer().token_ttl_s, {"Authorization": f"Bearer {token_for(subject)}"})
    return dict(made[1])


class HeadersOf(Mapping[str, str]):
    """`headers_for(subject)` as a module-level constant: made when first read (importing a test
    module starts no issuer) and made again when its token nears its end (a long run outlives one)."""

    def __init__(self, subject: str):
        self.subject = subject

    def __getitem__(self, name: str) -> str:
        return headers_for(self.subject)[name]

    def __iter__(self) -> Iterator[str]:
        return iter(headers_for(self.subject))

    def __len__(self) -> int:
        return 1


STAFF: Mapping[str, str] = HeadersOf("S-1001")
AUDITOR: Mapping[str, str] = HeadersOf("A-4001")
OPERATOR: Mapping[str, str] = HeadersOf("O-5001")


def planner_subject(planner_id: str) -> str:
    """The development user who is this planner of the roster ("planner-02" -> "P-2002")."""
    (found,) = [u.subject for u in DEV_USERS if u.planner_id == planner_id]
    return found


def headers_of_planner(planner_id: str) -> dict[str, str]:
    """The Authorization header of the person who is this planner: the one who records their visits."""
    return headers_for(planner_subject(planner_id))


def assert_refused_by_rule(response: httpx.Response, rule: str) -> dict[str, Any]:
    """A 403 problem+json naming `rule` in its `rule` member, its title and its detail."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem = response.json()
    assert problem["rule"] == rule and rule in problem["title"] and rule in problem["detail"], problem
    return problem


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    """Poll `check` until it returns a truthy value; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
            if last:
                return last
        except (httpx.HTTPError, OSError, asyncpg.PostgresError) as exc:
            last = exc  # not there yet (a table not migrated, a port not open): keep polling
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@dataclass
class Stack:
    bootstrap_servers: str
    admin_url: str  # superuser, on this test's database
    databases: dict[str, ServiceDatabase]
    log_dir: Path
    broker: Any
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def dsns(self) -> dict[str, str]:
        """Each service's runtime role."""
        return {service: database.url for service, database in self.databases.items()}

    def env(self, service: str, **extra: str) -> dict[str, str]:
        ledger = {"AUDIT_SIGNING_KEY_FILE": str(ledger_key_file()), "AUDIT_CHECKPOINT_INTERVAL_S": "1"} if service == "audit" else {}
        return {
            **ledger,
            "SERVICE_NAME": service,
            **self.databases[service].env(),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            **issuer().service_env(),
            "TOPIC_PARTITIONS": "4",
            "CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "RELAY_STANDBY_RETRY_S": "0.5",
            "RETRY_MAX_S": "2",
            "LOG_LEVEL": "INFO",
            **extra,
        }

    def spawn(self, service: str, command: str = "serve", *, name: str | None = None, failpoints: str = "", **extra: str) -> ServiceProcess:
        port = free_port()
        env = self.env(service, HTTP_PORT=str(port), SANGSAENG_FAILPOINTS=failpoints, **extra)
        process = ServiceProcess(
            service, command, env=env, log_dir=self.log_dir, name=name or f"{service}-{command}-{len(self.processes)}",
            ready_url=f"http://127.0.0.1:{port}/ready" if command in ("serve", "api") else None,
        )
        process.port = port  # type: ignore[attr-defined]
        process.start()
        self.processes.append(process)
        return process

    async def start(self, service: str, command: str = "serve", **kwargs: Any) -> ServiceProcess:
        process = self.spawn(service, command, **kwargs)
        if process.ready_url:
            await process.wait_ready(timeout=60)
        return process

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_url)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate(timeout=10)


_LEDGER_KEY: list[Path] = []


def ledger_key_file() -> Path:
    """The audit ledger's signing key for this test run (made once, in a private temporary directory)."""
    if not _LEDGER_KEY:
        import tempfile

        from audit.domain.checkpoint import Signer

        path = Path(tempfile.mkdtemp(prefix="sangsaeng-ledger-key-")) / "signing.key"
        path.write_text(Signer.generate("sangsaeng.dongdaemun.go.kr/ledger").private_key_text() + "\n")
        _LEDGER_KEY.append(path)
    return _LEDGER_KEY[0]


def ledger_verifier_key() -> str:
    from audit.domain.checkpoint import Signer

    return Signer.parse(ledger_key_file().read_text()).verifier_key()


def url_for(process: ServiceProcess, path: str) -> str:
    return f"http://127.0.0.1:{process.port}{path}"  # type: ignore[attr-defined]


def new_database_name() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def admin_url_for(admin_url: str, database: str) -> str:
    return database_url(admin_url, database)


async def read_topic(bootstrap_servers: str, topic: str, *, settle_s: float = 1.0) -> list[ConsumerRecord]:
    """Every record of `topic`, read without a group. Caught up is judged from the
    highwater a fetch returns (the development broker under-reports ListOffsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle_s:
            batch = await consumer.getmany(timeout_ms=200)
            got = [r for rs in batch.values() for r in rs]
            if got:
                records.extend(got)
                quiet_since = time.monotonic()
            else:
                positions = {tp: await consumer.position(tp) for tp in tps}
                if all(consumer.highwater(tp) is not None and positions[tp] >= consumer.highwater(tp) for tp in tps):
                    break
        return records
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap_servers: str, group_id: str, topic: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in sorted(partitions)}
    finally:
        await consumer.stop()


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


_numbers = iter(range(uuid.uuid4().int % 10**6, 10**7))


def valid_registration_number() -> str:
    """A number with a valid check digit, different from every other one this run makes."""
    from intake.domain.registration import check_digit

    free = f"{next(_numbers):07d}"  # seven free digits; digits 4-5 say "individual, taxable"
    first_nine = free[:3] + "01" + free[3:]
    return first_nine + str(check_digit(first_nine))


def business_body(**changes: Any) -> dict[str, Any]:
    return {
        "registration_number": valid_registration_number(),
        "name": "동대문 바른분식",
        "dong": "제기동",
        "industry": "음식점업",
        "employees": 2,
        "stage": "operating",
        "registered_on": "2023-03-02",
        **changes,
    }


class Publisher:
    """Publishes CloudEvents straight to a producer's topic exactly as its relay would
    (headers, key = business id, JSON value): the contract test of what a consumer reads."""

    def __init__(self, bootstrap_servers: str):
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=False, acks="all", linger_ms=5)
        self.sent: list[Envelope] = []

    async def __aenter__(self):
        await self.producer.start()
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.producer.stop()

    async def publish(self, event: Event, *, wait: bool = True, actor: str | None = None) -> Envelope:
        """`actor`: the subject the event says it happened on the command of (ce_actor)."""
        return await self.publish_envelope(Envelope.wrap(event, actor=actor), event.topic(), wait=wait)

    async def publish_envelope(self, envelope: Envelope, topic: str, *, wait: bool = True) -> Envelope:
        future = await self.producer.send(topic, key=envelope.key, value=envelope.data, headers=envelope.kafka_headers())
        if wait:
            await future
        self.sent.append(envelope)
        return envelope

    async def publish_raw(self, topic: str, value: bytes, *, key: bytes = b"raw", headers: list[tuple[str, bytes]] | None = None,
                          partition: int | None = None) -> None:
        await self.producer.send_and_wait(topic, value=value, key=key, headers=headers or [], partition=partition)


async def all_pages(client: httpx.AsyncClient, url: str, *, params: dict[str, Any], headers: dict[str, str]) -> list[list[dict]]:
    """Every page of a list answered as a JSON array, following its `Next-Cursor` header;
    checks that `Link: rel="next"` says the same and that the last page has neither."""
    pages: list[list[dict]] = []
    cursor: str | None = None
    while True:
        response = await client.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = response.headers.get("next-cursor")
        if cursor is None:
            assert "link" not in response.headers
            return pages
        assert response.headers["link"].endswith('>; rel="next"') and f"cursor={cursor}" in response.headers["link"]
        assert len(pages) < 1000, "paging does not end"


async def check_paging(client: httpx.AsyncClient, url: str, *, params: dict[str, Any], headers: dict[str, str], expected: int) -> list[dict]:
    """Paged by 2, the list is the unpaged one: same rows, same order, none twice; a cursor
    this API never returned is a 422 naming `cursor`."""
    unpaged = (await client.get(url, params=params, headers=headers)).json()
    assert len(unpaged) == expected, unpaged
    pages = await all_pages(client, url, params={**params, "limit": 2}, headers=headers)
    assert [len(p) for p in pages] == [2] * (expected // 2) + ([expected % 2] if expected % 2 else [])
    assert [row["id"] for p in pages for row in p] == [row["id"] for row in unpaged]
    bad = await client.get(url, params={**params, "cursor": "not-ours"}, headers=headers)
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["cursor"], bad.text
    return unpaged
