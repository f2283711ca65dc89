"""The console's settings (environment): where the services are, the role tokens it calls them with,
its users (argon2 hashes) and its session key. Read by bootstrap.build()."""

from __future__ import annotations

import json
import secrets
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sangsaeng_common.kafka import KafkaOptions


class User(BaseModel):
    password_hash: str  # argon2id
    role: str  # staff, planner, loan_officer, auditor, operator, agency
    name: str
    planner_id: str | None = None  # a planner's own id in visits (planner-01 …)
    agency: str | None = None  # an agency user's code (SEMAS …)
    # The person's subject id at the identity provider (a pseudonymous staff number): the APIs
    # are called with their token when the console has one, so that events name them as actor
    # and the rules about people (own_visits_only, segregation_of_duties) apply to them.
    subject: str | None = None

    @property
    def api_role(self) -> str:
        """The role whose bearer token the console calls the APIs with (without the person's)."""
        return f"agency:{self.agency}" if self.role == "agency" else self.role

    def api_caller(self, tokens: dict[str, str]) -> str:
        """The key of `tokens` to call the APIs with: the subject's if known, else the role's."""
        return self.subject if self.subject and self.subject in tokens else self.api_role


# Development users (README lists them; the password of each is `<username>-dev-password`).
# CONSOLE_USERS replaces them in any real deployment.
DEV_USERS: dict[str, dict[str, Any]] = {
    "staff": {"role": "staff", "subject": "S-1001", "name": "센터 직원 김하나",
              "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$N8yKhIiuR+uJPsjTGTvE6A$C8MLMkSTAutp7s9cOQaVEoE8VXbouvpd0hb8e0NAt48"},
    "planner": {"role": "planner", "subject": "P-2001", "name": "플래너 01 박두리", "planner_id": "planner-01",
                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x7L+wRgkKo2jLfLCiF8yCA$6dbncrMnEaKsEQ7n0AP9cagTsBHenrVs5sFS9SnEDwo"},
    "loan-officer": {"role": "loan_officer", "subject": "L-3001", "name": "융자 담당 이세진",
                     "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$WuA5ts6OAv6LvwwenkYwhg$A0wb801CtH7k8tw9YYz9PsO+ulF4ieke7C3577pwHZg"},
    "auditor": {"role": "auditor", "subject": "A-4001", "name": "감사 최넷",
                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$1//U4qDv6OrZpN2qCIHKgA$B0xOzqgvbL704kplrQz1O7kxd416clQ8tT0EF6bW3Uw"},
    "operator": {"role": "operator", "subject": "O-5001", "name": "운영자 정다섯",
                 "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$l+CbxJnNGUYpQEVwwJ0IrA$v45nt0m/bohnN+FfwZ3qJ52mbzDUa14kiKPTi/kXPBI"},
    "agency-semas": {"role": "agency", "subject": "G-SEMAS", "name": "소상공인시장진흥공단 담당", "agency": "SEMAS",
                     "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$/SUS8cOIpzPJEn60KsP8AQ$kzqrE0tvAqoB7/Pvzp2ukJLIciBP6tZ5VoAdOpmqZxs"},
}


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
    # CONSOLE_USERS='{"kim": {"role": "staff", "name": "…", "password_hash": "$argon2id$…"}}'
    console_users: dict[str, User] = Field(default_factory=lambda: {k: User(**v) for k, v in DEV_USERS.items()})
    # AUTH_TOKENS (token -> role, or token -> a person's claims, as the services get it): the console calls
    # each API with the user's own token (by subject) if it has one, else with their role's.
    auth_tokens: dict[str, Any] = Field(default_factory=dict)
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

    @field_validator("auth_tokens", "console_users", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @property
    def role_tokens(self) -> dict[str, str]:
        """role -> one token of that role, and subject -> that person's token."""
        tokens: dict[str, str] = {}
        for token, role in sorted(self.auth_tokens.items()):
            if isinstance(role, dict):
                if role.get("subject"):
                    tokens[role["subject"]] = token
            else:
                tokens.setdefault(role, token)
        return tokens

    @property
    def kafka(self) -> KafkaOptions:
        return KafkaOptions(self.kafka_bootstrap_servers, self.kafka_security_protocol, self.kafka_sasl_mechanism,
                            self.kafka_sasl_username, self.kafka_sasl_password, self.kafka_ssl_cafile)

    @property
    def service_urls(self) -> dict[str, str]:
        return {"intake": self.intake_url, "visits": self.visits_url, "loans": self.loans_url,
                "referrals": self.referrals_url, "audit": self.audit_url, "districts": self.districts_url}
