"""``budstikke vapid-keys``: make the key pair web push (VAPID, RFC 8292) signs with."""

from __future__ import annotations

import click

from channels.vapid import generate_key_pair


@click.command(name="vapid-keys")
def vapid_keys() -> None:
    """Print a new VAPID key pair: the private key for the gateway, the public one for browsers."""
    pair = generate_key_pair()
    click.echo("# Keep the private key secret; set it in the gateway's environment:")
    click.echo(f"BUDSTIKKE_VAPID_PRIVATE_KEY={pair.private_b64}")
    click.echo("# The same private key as PEM:")
    click.echo(pair.private_pem.rstrip("\n"))
    click.echo("# Public key: pass it to PushManager.subscribe() in the portal:")
    click.echo(f"applicationServerKey: {pair.public_b64}")
    click.echo("# Rotating the key makes push services refuse (403) old subscriptions;")
    click.echo("# they are disabled and browsers must subscribe again.")
