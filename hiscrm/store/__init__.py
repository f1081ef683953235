"""Persistence on NATS JetStream: the broker, the streams and buckets, the event store."""
