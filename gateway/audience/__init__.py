"""Audiences: who a message is for, resolved to recipients in one set-based query."""
