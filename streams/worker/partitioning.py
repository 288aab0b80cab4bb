"""Kafka's default partitioner (murmur2, as the Java client), so a rider's internal records land
on the partition every Kafka client would pick for that key."""

from kafka.partitioner.default import murmur2


def partition_for(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
