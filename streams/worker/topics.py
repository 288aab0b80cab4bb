"""Creates Knightwatch's topics with kafka-python's admin client; running it again is harmless."""

import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.config.settings import KnightwatchSettings
from streams.worker.kafka_clients import kafka_python_kwargs

log = logging.getLogger(__name__)


def topic_plan(settings: KnightwatchSettings) -> dict[str, tuple[int, dict[str, str]]]:
    """Topic -> (partitions, config)."""
    k, t = settings.kafka, settings.topics
    compacted = {"cleanup.policy": "compact"}
    plan = {name: (k.partitions, {}) for name in (
        t.orders, t.weather, t.reviews, t.redemptions, t.profiles, t.alerts, t.deltas,
        t.exemptions, t.subsidies, t.points, t.area_risk, t.dead_letters)}
    plan[t.gps] = (k.gps_partitions, {})
    # A rider's internal records and checkpoints share the GPS topic's partitioning.
    plan[t.rider_events] = (k.gps_partitions, {})
    plan[t.rider_state] = (k.gps_partitions, compacted)
    plan[t.area_progress] = (k.area_partitions, {})
    plan[t.area_state] = (k.area_partitions, compacted)
    return plan


class TopicLayoutError(RuntimeError):
    """An existing topic's partitions do not match the settings the fleet relies on."""


def _check_partitions(admin: KafkaAdminClient, settings: KnightwatchSettings) -> None:
    # Riders meet their internal records and checkpoints by partition number, and each rider
    # partition waits for every input partition it was told of: counts must match.
    plan = topic_plan(settings)
    for description in admin.describe_topics(list(plan)):
        name = description.get("name") or description.get("topic")
        actual = len(description.get("partitions") or [])
        wanted = plan[name][0]
        if actual and actual != wanted:
            raise TopicLayoutError(
                f"topic {name} has {actual} partitions but the settings say {wanted} "
                f"(KNIGHTWATCH_KAFKA__GPS_PARTITIONS / __PARTITIONS / __AREA_PARTITIONS)")


def ensure_topics(settings: KnightwatchSettings) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = KafkaAdminClient(client_id="knightwatch-admin",
                             **kafka_python_kwargs(settings.kafka))
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(name, partitions, settings.kafka.replication_factor,
                           topic_configs=config)
                  for name, (partitions, config) in topic_plan(settings).items()
                  if name not in existing]
        created = []
        for topic in wanted:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another worker created it first
        if created:
            log.info("created topics %s", ", ".join(created))
        _check_partitions(admin, settings)
        return created
    finally:
        admin.close()
