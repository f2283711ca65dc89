"""Settings read from the environment (twelve-factor); one class serves every service."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sangsaeng_common.kafka import KafkaOptions


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    service_name: str
    # The service's runtime role. With `migration_database_url` set, this role only uses
    # the schema (the grants its migrations give it) and another role owns it.
    database_url: str
    # The schema owner's role, which runs the migrations (`serve` at start-up, or `migrate`
    # alone, e.g. as a Kubernetes init container). Unset: the runtime role owns its schema
    # and migrates it itself.
    migration_database_url: str | None = None
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # How to log in to the brokers: PLAINTEXT in development; SASL/SCRAM with ACLs in
    # the secure compose profile and on Kubernetes (Strimzi KafkaUser).
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # How long an idle keep-alive connection stays open. Longer than clients' and load
    # balancers' own idle timeouts (httpx: 5 s, nginx: 75 s), so that the server is never the
    # side that closes a connection a client is just reusing: that race loses the request
    # (the client sees the connection reset, not an answer). uvicorn's default is 5 s.
    http_keepalive_s: float = 90.0

    # A recorded events feed a replay may rebuild from (`replay --source ledger`; the wire
    # format is in recorded_events_feed.py): the base URL of whichever service serves it.
    # LEDGER_URL, its former name, is still read.
    events_feed_url: str | None = Field(default=None, validation_alias=AliasChoices("events_feed_url", "ledger_url"))

    # Bearer tokens are JWTs from the center's OpenID Connect provider (identity.py): `iss` must
    # be AUTH_ISSUER and `aud` include AUTH_AUDIENCE. The keys come from AUTH_JWKS_URL, by default
    # the `jwks_uri` of the issuer's /.well-known/openid-configuration. Unset issuer: no token is
    # valid (there are no built-in credentials).
    auth_issuer: str = ""
    auth_audience: str = "sangsaeng"
    auth_jwks_url: str | None = None
    # Pinned: asymmetric signatures only (never `none`, never HMAC with a public key).
    auth_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "EdDSA"])
    auth_leeway_s: float = 30.0  # clock skew allowed on exp/nbf/iat
    auth_jwks_max_age_s: float = 3600.0  # the key set is fetched again after this long
    # A token naming a key not held fetches the set again (rotation), at most this often.
    auth_jwks_refetch_after_s: float = 5.0

    # Partition count of every topic this service creates, unless overridden per topic.
    # The count bounds how many replicas of a consumer can share its work.
    topic_partitions: int = 6
    topic_partitions_overrides: dict[str, int] = Field(default_factory=dict)

    db_pool_min: int = 2
    db_pool_max: int = 10

    relay_batch_size: int = 500
    # The relay is woken by LISTEN/NOTIFY; this is only the safety net for a lost notification.
    relay_idle_check_s: float = 10.0
    # How often a standby relay tries to become leader.
    relay_standby_retry_s: float = 1.0

    consumer_max_records: int = 500
    consumer_session_timeout_ms: int = 10_000
    consumer_heartbeat_ms: int = 1_000
    # How long the broker may hold a fetch when there is nothing new. The development
    # broker answers only when this runs out even if records arrive meanwhile, so it
    # bounds how quickly an event reaches its consumer there.
    consumer_fetch_max_wait_ms: int = 25
    # A consumer whose polls have found nothing for CONSUMER_IDLE_AFTER_S stops fetching for
    # CONSUMER_IDLE_REST_S at a time, looking once in between: an idle stack rests, at the price
    # of up to that much for the first event after a quiet spell.
    consumer_idle_rest_s: float = 1.0
    consumer_idle_after_s: float = 10.0

    retry_initial_s: float = 0.2
    retry_max_s: float = 5.0

    # Fault injection for the crash tests, e.g. "relay.after_publish=kill"; empty in production.
    sangsaeng_failpoints: str = ""

    log_level: str = "INFO"

    def partitions_for(self, topic: str) -> int:
        return self.topic_partitions_overrides.get(topic, self.topic_partitions)

    @property
    def kafka(self) -> KafkaOptions:
        return KafkaOptions(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password,
            ssl_cafile=self.kafka_ssl_cafile,
        )

    @property
    def schema(self) -> str:
        return self.service_name
