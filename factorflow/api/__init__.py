"""The HTTP layer: turns requests into Invocations and Replies into envelopes."""
