"""Delivery: the outbox, planning notifications, sending them in chunks, reports."""
