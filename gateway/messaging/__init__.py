"""Threads, messages and announcements, the inbox built from them, and read receipts."""
