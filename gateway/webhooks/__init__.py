"""Webhooks signed per the Standard Webhooks spec, for portals and institutions."""
