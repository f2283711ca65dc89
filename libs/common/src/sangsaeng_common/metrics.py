"""Prometheus metrics shared by every service (served on /metrics)."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["method", "route"])
EVENTS_PUBLISHED = Counter("events_published_total", "Outbox rows published to Kafka", ["schema"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published", ["schema"])
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row", ["schema"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events consumed", ["consumer", "type", "result"])
HANDLER_LATENCY = Histogram("event_handler_duration_seconds", "Time to apply one batch of a poll in its transaction (a poll's small partitions together, a long run alone)", ["consumer"])
DEAD_LETTERS = Counter("dead_letters_total", "Records sent to the dead-letter topic", ["consumer", "reason"])
CONSUMER_LAG = Gauge("consumer_lag", "Records between the consumer's position and the partition's highwater", ["consumer", "topic", "partition"])
DEAD_LETTERS_OPEN = Gauge("dead_letters_open", "Dead letters not yet redriven or discarded, and events parked behind them (reason=parked), from the dead_letters table", ["consumer", "reason"])
DEAD_LETTER_REDRIVES = Counter("dead_letter_redrives_total", "Dead letters and parked events an operator's redrive went through (result: applied, released, dead_again)", ["consumer", "result"])
DEAD_LETTER_DISCARDS = Counter("dead_letter_discards_total", "Dead letters an operator discarded, by discard reason", ["consumer", "reason"])
