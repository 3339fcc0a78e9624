"""Budstikke: an open school–home messaging and notification gateway."""

__version__ = "0.1.0"
