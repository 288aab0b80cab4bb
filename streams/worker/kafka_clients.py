"""Connection settings shared by every Kafka client Knightwatch opens (Faust's, ours, the admin)."""

import ssl
from typing import Any

from streams.config.settings import KafkaSettings


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(
        cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    if kafka.ssl_certfile:
        context.load_cert_chain(str(kafka.ssl_certfile),
                                str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None)
    return context


def _common_kwargs(kafka: KafkaSettings, brokers: object) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"bootstrap_servers": brokers,
                              "security_protocol": kafka.security_protocol}
    context = ssl_context(kafka)
    if context is not None:
        kwargs["ssl_context"] = context
    if kafka.sasl_mechanism:
        kwargs["sasl_mechanism"] = kafka.sasl_mechanism
        kwargs["sasl_plain_username"] = kafka.sasl_username
        kwargs["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None)
    return kwargs


def aiokafka_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    return _common_kwargs(kafka, kafka.brokers)


def kafka_python_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    return _common_kwargs(kafka, kafka.brokers.split(","))
