"""Outbound notification channels: SMTP servers and SMS gateways, their stored
configurations, and the deliverers that send email and SMS jobs through them."""
