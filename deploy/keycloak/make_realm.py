"""Writes sangsaeng-realm.json: the Keycloak realm the services trust in docker-compose.yml and the dev
overlay (import it with `kc.sh start --import-realm`). Run again after a change to the development users:

    .venv/bin/python deploy/keycloak/make_realm.py

The realm holds what production needs too: the system's realm roles, the console's client (public,
authorization code with PKCE), the mappers that put `aud: sangsaeng`, `planner_id` and `agency` into
access tokens, and one confidential client per agency integration (client credentials, its service
account holding the role `agency`, its agency as a hard-coded claim). Its users are the development
users of sangsaeng_devstack.users with the password `sangsaeng-dev`: a production realm imports the
file without `users` and federates the center's own directory instead (README, Identity).
"""

from __future__ import annotations

import json
from pathlib import Path

from sangsaeng_common.identity import ROLES
from sangsaeng_devstack.issuer import AUDIENCE, DEV_PASSWORD
from sangsaeng_devstack.tokens import AGENCIES
from sangsaeng_devstack.users import DEV_USERS

HERE = Path(__file__).resolve().parent
CONSOLE_CLIENT = "sangsaeng-console"
CONSOLE_REDIRECTS = ["http://127.0.0.1:8006/auth/callback", "http://localhost:8006/auth/callback", "https://console.sangsaeng.example/auth/callback"]


def _attribute_mapper(name: str) -> dict:
    return {"name": name, "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-attribute-mapper",
            "config": {"user.attribute": name, "claim.name": name, "jsonType.label": "String", "access.token.claim": "true",
                       "id.token.claim": "false", "userinfo.token.claim": "true"}}


def _hardcoded(claim: str, value: str) -> dict:
    return {"name": f"{claim}-{value}", "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
            "config": {"claim.name": claim, "claim.value": value, "jsonType.label": "String", "access.token.claim": "true"}}


AUDIENCE_MAPPER = {"name": "audience-sangsaeng", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
                   "config": {"included.custom.audience": AUDIENCE, "access.token.claim": "true", "id.token.claim": "false"}}
# Keycloak puts realm roles under realm_access.roles by default; the services read that claim as it is.


def realm() -> dict:
    agency_clients = [{
        "clientId": f"G-{code}", "name": f"{code} integration", "enabled": True, "publicClient": False,
        "secret": DEV_PASSWORD, "serviceAccountsEnabled": True, "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
        "protocolMappers": [AUDIENCE_MAPPER, _hardcoded("agency", code), _hardcoded("sub", f"G-{code}")],
    } for code in AGENCIES]
    service_accounts = [{"username": f"service-account-g-{code.lower()}", "enabled": True, "serviceAccountClientId": f"G-{code}",
                         "realmRoles": ["agency"]} for code in AGENCIES]
    people = [{
        "username": user.subject.lower(), "enabled": True, "emailVerified": True,
        "attributes": {k: [v] for k, v in (("staff_number", user.subject), ("planner_id", user.planner_id)) if v},
        "credentials": [{"type": "password", "value": DEV_PASSWORD, "temporary": False}],
        "realmRoles": [user.role],
    } for user in DEV_USERS if user.role != "agency"]
    return {
        "realm": "sangsaeng", "enabled": True, "sslRequired": "external", "accessTokenLifespan": 900,
        "roles": {"realm": [{"name": role, "description": f"Sangsaeng {role}"} for role in ROLES]},
        "clients": [{
            "clientId": CONSOLE_CLIENT, "name": "Sangsaeng console", "enabled": True, "publicClient": True,
            "standardFlowEnabled": True, "directAccessGrantsEnabled": False, "redirectUris": CONSOLE_REDIRECTS,
            "webOrigins": ["+"], "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
            "protocolMappers": [AUDIENCE_MAPPER, _attribute_mapper("planner_id"), _attribute_mapper("agency"),
                                # the subject the services record is the staff number (S-1001), not Keycloak's user uuid
                                {**_attribute_mapper("staff_number"), "name": "sub-is-staff-number",
                                 "config": {**_attribute_mapper("staff_number")["config"], "claim.name": "sub"}}],
        }, *agency_clients],
        "users": people + service_accounts,
    }


if __name__ == "__main__":
    (HERE / "sangsaeng-realm.json").write_text(json.dumps(realm(), ensure_ascii=False, indent=2) + "\n")
