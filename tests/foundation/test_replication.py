"""Replicated topics: the replication settings, and a local three-broker cluster whose topics batch-gpt creates
with a replica on every node and ``min.insync.replicas`` 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import ConfigResource  # type: ignore[attr-defined]

from batchgpt.broker import linked_home, start_cluster
from batchgpt.kafka import admin_client, ensure_topics, producer_config
from batchgpt.settings import KafkaSettings, SettingsError, load_settings

REPLICATED = {"BATCHGPT_TOPIC_REPLICATION_FACTOR": "3", "BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS": "2"}


def test_replication_is_the_brokers_default_unless_set_and_in_sync_replicas_cannot_exceed_it() -> None:
    default = load_settings(KafkaSettings, environ={})
    assert (default.topic_replication_factor, default.topic_min_insync_replicas) == (None, None)
    settings = load_settings(KafkaSettings, environ=REPLICATED)
    assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (3, 2)
    with pytest.raises(SettingsError, match="BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS"):
        load_settings(KafkaSettings, environ={**REPLICATED, "BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS": "4"})
    with pytest.raises(SettingsError, match="BATCHGPT_TOPIC_REPLICATION_FACTOR"):
        load_settings(KafkaSettings, environ={"BATCHGPT_TOPIC_REPLICATION_FACTOR": "0"})


@pytest.mark.integration
def test_a_three_broker_cluster_takes_the_topics_on_every_node_with_two_in_sync(tmp_path: Path) -> None:
    cluster = start_cluster(linked_home(tmp_path / "kafka"), size=3, timeout_s=120)
    try:
        settings = load_settings(
            KafkaSettings,
            environ={**REPLICATED, "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers, "BATCHGPT_TOPIC_PREFIX": "r."},
        )
        ensure_topics(settings, names=[settings.topics.requests], partitions=3)
        admin = admin_client(settings)
        topic = admin.list_topics(settings.topics.requests, timeout=10).topics[settings.topics.requests]
        nodes = {node.node_id for node in cluster.nodes}
        assert [sorted(p.replicas) for p in topic.partitions.values()] == [sorted(nodes)] * 3
        assert {p.leader for p in topic.partitions.values()} == nodes  # the leaders spread over the nodes
        resource = ConfigResource(ConfigResource.Type.TOPIC, settings.topics.requests)
        config = admin.describe_configs([resource])[resource].result(timeout=10)
        assert config["min.insync.replicas"].value == "2"

        producer = Producer(producer_config(settings))
        delivered: list[object] = []
        producer.produce(settings.topics.requests, b"x", on_delivery=lambda err, msg: delivered.append(err))
        assert producer.flush(30) == 0
        assert delivered == [None]  # acknowledged by the in-sync replicas (acks=all)
    finally:
        cluster.stop()
