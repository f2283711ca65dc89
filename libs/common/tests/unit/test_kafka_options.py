import ssl

from sangsaeng_common.kafka import KafkaOptions
from sangsaeng_common.settings import ServiceSettings


def test_plaintext_by_default():
    assert KafkaOptions("k:9092").client_kwargs() == {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"}


def test_settings_carry_scram_login_to_every_client(monkeypatch):
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9093", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "sangsaeng-loans", "KAFKA_SASL_PASSWORD": "s3cret",
    }.items():
        monkeypatch.setenv(name, value)
    kwargs = ServiceSettings(service_name="loans", database_url="postgresql://x").kafka.client_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("sangsaeng-loans", "s3cret")
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
