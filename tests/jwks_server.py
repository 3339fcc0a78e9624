"""A real JWKS endpoint for tests: an HTTP server on 127.0.0.1 in a thread.

It serves ``keys`` as they are when asked, answers 503 while ``failing``, and counts
``hits``, so tests can check caching and key rotation without mocking PyJWT.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def jwk(public_key: Any, kid: str) -> dict[str, Any]:
    """The JWK of an RSA or EC public key, with a kid."""
    algorithm = RSAAlgorithm if isinstance(public_key, rsa.RSAPublicKey) else ECAlgorithm
    data: dict[str, Any] = algorithm.to_jwk(public_key, as_dict=True)
    return data | {"kid": kid, "use": "sig"}


class JwksServer:
    """``with JwksServer(keys) as jwks: … jwks.url …``"""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.failing = False
        self.hits = 0
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                state.hits += 1
                if state.failing:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": state.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks.json"
        # A short poll interval keeps shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), daemon=True
        )

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
