"""The console's settings (environment): where the services are, the identity provider people sign in
at (and whose tokens the console calls the APIs with), and its session key. Read by bootstrap.build()."""

from __future__ import annotations

import secrets

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sangsaeng_common.kafka import KafkaOptions


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "console"
    http_host: str = "0.0.0.0"
    http_port: int = 8006
    log_level: str = "INFO"
    # CONSOLE_SECRET_KEY signs the session cookies; every replica needs the same. Unset: a random key per process.
    console_secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    console_session_hours: int = Field(12, ge=1, le=24 * 7)
    console_cookie_secure: bool = False  # True behind TLS (production)
    # The identity provider, as the services trust it (sangsaeng_common.settings): people sign in there
    # (authorization code + PKCE) and the console calls the APIs with their own access token.
    auth_issuer: str = "http://127.0.0.1:8009"
    auth_audience: str = "sangsaeng"
    auth_jwks_url: str | None = None
    # Where the console itself reads the provider's discovery document, when the issuer's URL (what browsers
    # see, e.g. compose's http://127.0.0.1:8180) is not reachable from the console (http://keycloak:8080 there);
    # AUTH_JWKS_URL likewise for the keys.
    auth_discovery_url: str | None = None
    auth_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "EdDSA"])
    # The console's client at the provider (a public client with PKCE; a secret if the provider makes it confidential).
    console_client_id: str = "sangsaeng-console"
    console_client_secret: str | None = None
    # The console's address as browsers see it, for the redirect URI (<url>/auth/callback). Unset: the request's own.
    console_public_url: str | None = None
    intake_url: str = "http://127.0.0.1:8001"
    visits_url: str = "http://127.0.0.1:8002"
    loans_url: str = "http://127.0.0.1:8003"
    referrals_url: str = "http://127.0.0.1:8004"
    audit_url: str = "http://127.0.0.1:8005"
    districts_url: str = "http://127.0.0.1:8007"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"  # as the services read them (sangsaeng_common.settings)
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    # How long a loan application waits for loans to learn of a just-registered business.
    console_read_your_writes_s: float = Field(20.0, ge=0)
    api_timeout_s: float = Field(10.0, gt=0)

    @property
    def kafka(self) -> KafkaOptions:
        return KafkaOptions(self.kafka_bootstrap_servers, self.kafka_security_protocol, self.kafka_sasl_mechanism,
                            self.kafka_sasl_username, self.kafka_sasl_password, self.kafka_ssl_cafile)

    @property
    def service_urls(self) -> dict[str, str]:
        return {"intake": self.intake_url, "visits": self.visits_url, "loans": self.loans_url,
                "referrals": self.referrals_url, "audit": self.audit_url, "districts": self.districts_url}
