"""HisCRM: an event-sourced inbox CRM for Douyin creator accounts on NATS JetStream."""

__version__ = "0.1.0"
