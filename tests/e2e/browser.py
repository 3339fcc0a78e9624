"""What the browser tests need beyond Python packages: Debian's Chromium and axe-core.

Chromium comes from Debian (``apt-get install chromium``), never from a test tool's own
download. Where it is missing, the tests install it when they may (root, or sudo
without a password) and otherwise fail saying how to install it: never a silent skip.

axe-core (the accessibility rules engine) is the npm package, fetched once from the
npm registry as its published tarball, checked against the registry's integrity hash
pinned here, and cached; Node.js is not needed for that.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# The flags the issue and the machine notes give: headless, no sandbox as root, and no
# background connections (this network is closed; they would only fail and retry).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
AXE_VERSION = "4.14.1"
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
AXE_INTEGRITY = (  # dist.integrity of that version in the registry's metadata
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/"
    "pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)


def _apt_prefix() -> list[str] | None:
    if os.geteuid() == 0:
        return []
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        return ["sudo", "-n"]
    return None


def ensure_chromium() -> Path:
    """Debian's Chromium, installed with apt-get if it is missing and we may."""
    if CHROMIUM.exists():
        return CHROMIUM
    prefix = _apt_prefix()
    if prefix is None or not shutil.which("apt-get"):
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: run "
            "`sudo apt-get install chromium` (this user may not install packages)",
            pytrace=False,
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:  # the package lists may be missing on a fresh machine
        subprocess.run([*prefix, "apt-get", "update"], capture_output=True, env=env, check=False)
        result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(
            f"could not install Chromium with apt-get (exit {result.returncode}):\n"
            + result.stderr[-2000:],
            pytrace=False,
        )
    return CHROMIUM


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "budstikke-tests"


def _integrity_ok(data: bytes) -> bool:
    algorithm, _, expected = AXE_INTEGRITY.partition("-")
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == expected


def axe_source() -> str:
    """The text of axe-core's ``axe.min.js`` (downloaded from the npm registry once)."""
    cached = _cache_dir() / f"axe-core-{AXE_VERSION}.tgz"
    if cached.exists() and _integrity_ok(cached.read_bytes()):
        data = cached.read_bytes()
    else:
        try:
            with urllib.request.urlopen(AXE_TARBALL, timeout=60) as response:
                data = response.read()
        except OSError as exc:
            pytest.fail(f"could not fetch axe-core from the npm registry: {exc}", pytrace=False)
        if not _integrity_ok(data):
            pytest.fail(f"{AXE_TARBALL} does not match its pinned integrity hash", pytrace=False)
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        return member.read().decode()
