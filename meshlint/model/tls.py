"""What a client's proxy does towards one listener, and whether that TLS handshake can succeed.

The client's effective policy is the backend's own `clientPolicy.tls`, else `backendDefaults` (see
entities.client_tls); it governs a port when it is enforced and its `ports` are empty or list the port.
Towards a governed port the proxy originates TLS and presents the policy's certificate, if any; towards any
other port it originates TLS, without a certificate, when the listener is STRICT or PERMISSIVE, and plaintext
when the listener has no TLS (design 5.5; https://docs.aws.amazon.com/app-mesh/latest/userguide/tls.html).
"""

from __future__ import annotations

from typing import Any, Literal

Failure = Literal["enforced-towards-plaintext", "no-client-certificate"]


def enforced(policy: Any) -> Any:
    """The policy when it is enforced (the default), else None."""
    return policy if policy is not None and policy.enforce is not False else None


def governs(policy: Any, port: int) -> bool:
    """Whether the (enforced) client policy applies to a listener on `port`."""
    return policy is not None and (not policy.ports or port in policy.ports)


def handshake_failure(policy: Any, listener: Any) -> Failure | None:
    """Why the handshake from a client under `policy` (enforced, or None) to `listener` fails, or None."""
    tls = listener.tls
    plaintext = tls is None or tls.mode == "DISABLED"
    if governs(policy, listener.port_mapping.port):
        if plaintext:
            return "enforced-towards-plaintext"
        return "no-client-certificate" if tls.validation is not None and policy.certificate is None else None
    return "no-client-certificate" if not plaintext and tls.validation is not None else None
