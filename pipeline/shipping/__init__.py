"""Getting logs in: a logging handler for Python apps, a file follower, a traffic generator."""

from pipeline.shipping.events import metric, operation
from pipeline.shipping.handler import KafkaHandler, install

__all__ = ["KafkaHandler", "install", "metric", "operation"]
