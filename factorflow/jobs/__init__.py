"""The durable job queue: outbound actions stored with the request that caused them
and delivered later, at least once, by workers."""
