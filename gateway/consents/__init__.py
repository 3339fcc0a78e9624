"""Consent requests and permissions: questions per child, answered by the right guardians."""
