"""Event streams: every event as a CloudEvents 1.0 message to a broker, through the
durable job queue (see ``docs/events.md``, "Event streams")."""
