"""Short human phrases for what a compiled route, cluster or TLS context puts in force."""

from __future__ import annotations

from meshlint.compile.envoy.envoy_json import Json
from meshlint.model.routing import RequestMatch


def match_text(match: RequestMatch) -> str:
    parts = [match.path.describe()]
    parts += [h.describe() for h in match.headers]
    parts += [q.describe() for q in match.query]
    return ", ".join(parts)


def retry_text(policy: Json | None) -> str | None:
    """`num_retries` retries on the `retry_on` events (and status codes), with the per-try timeout."""
    if policy is None:
        return None
    count = int(policy.get("num_retries", 1))
    if count == 0:
        return "no retries (maxRetries 0)"
    text = f"{count} retr{'y' if count == 1 else 'ies'} on {policy.get('retry_on', '(no event)')}"
    codes = policy.get("retriable_status_codes")
    if codes:
        text += f" ({_ranges(sorted(int(c) for c in codes))})"
    if "per_try_timeout" in policy:
        text += f", {policy['per_try_timeout']} per try"
    return text


def _ranges(codes: list[int]) -> str:
    """[500, 501, 502, 504] -> '500-502, 504'."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][-1] + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def outlier_text(od: Json) -> str:
    return (f"outlier detection: {od.get('consecutive_5xx', 5)} consecutive 5xx eject a host for "
            f"{od.get('base_ejection_time', '30s')} x ejections (checked every {od.get('interval', '10s')}, at "
            f"most {od.get('max_ejection_percent', 10)}% of hosts)")


def health_text(hc: Json) -> str:
    if "http_health_check" in hc:
        what = f"HTTP {hc['http_health_check'].get('path', '/')}"
    elif "grpc_health_check" in hc:
        what = "gRPC"
    else:
        what = "TCP connect"
    return (f"health check: {what} every {hc['interval']} (timeout {hc['timeout']}, unhealthy after "
            f"{hc['unhealthy_threshold']} failures)")


def resilience(cluster: Json) -> tuple[str, ...]:
    out = [f"connect timeout {cluster.get('connect_timeout', '5s')}"]
    if "outlier_detection" in cluster:
        out.append(outlier_text(cluster["outlier_detection"]))
    out += [health_text(hc) for hc in cluster.get("health_checks", ())]
    return tuple(out)


def _context(socket: Json) -> Json:
    context: Json = socket["typed_config"]
    return context


def _has_certificate(common: Json) -> bool:
    return bool(common.get("tls_certificates") or common.get("tls_certificate_sds_secret_configs"))


def _trust(common: Json) -> str | None:
    """Where the peer certificate is verified against, with the SANs it must carry; None: not verified."""
    if "validation_context" in common:
        ctx = common["validation_context"]
        where = f"CA {ctx['trusted_ca']['filename']}" if "trusted_ca" in ctx else "a CA"
        sans = ctx.get("match_typed_subject_alt_names", [])
    elif "combined_validation_context" in common:
        combined = common["combined_validation_context"]
        where = f"SDS secret {combined['validation_context_sds_secret_config']['name']}"
        sans = combined["default_validation_context"].get("match_typed_subject_alt_names", [])
    elif "validation_context_sds_secret_config" in common:
        where, sans = f"SDS secret {common['validation_context_sds_secret_config']['name']}", []
    else:
        return None
    if sans:
        where += " with SAN " + " or ".join(str(s["matcher"]["exact"]) for s in sans)
    return where


def tls_kind(cluster: Json) -> str:
    """plaintext, TLS, or mTLS (the client presents a certificate)."""
    socket = cluster.get("transport_socket")
    if socket is None:
        return "plaintext"
    return "mTLS" if _has_certificate(_context(socket).get("common_tls_context", {})) else "TLS"


def client_tls_text(cluster: Json) -> str:
    """How the client's cluster connects: plaintext, or TLS with what it verifies and presents."""
    socket = cluster.get("transport_socket")
    if socket is None:
        return "plaintext"
    common = _context(socket).get("common_tls_context", {})
    trust = _trust(common)
    parts = [f"TLS, verifies the server against {trust}" if trust else "TLS, server certificate not verified"]
    if _has_certificate(common):
        parts.append("presents a client certificate")
    return "; ".join(parts)


def handshake(cluster: Json, chain: Json) -> tuple[bool, str, str]:
    """(succeeds, the listener's TLS in words, why) for a client cluster meeting a server filter chain, as
    far as configuration tells: certificate contents are not read."""
    client = cluster.get("transport_socket")
    server = chain.get("transport_socket")
    mode = "plaintext" if server is None else (
        "TLS (PERMISSIVE)" if chain.get("filter_chain_match", {}).get("transport_protocol") == "tls" else "TLS")
    if server is None and client is None:
        return True, mode, "plaintext on both sides"
    if server is None:
        return False, mode, "the client starts a TLS handshake but the listener speaks plaintext"
    if client is None:
        return False, mode, "the listener requires TLS but the client sends plaintext"
    server_ctx = _context(server)
    common = server_ctx.get("common_tls_context", {})
    if server_ctx.get("require_client_certificate"):
        mode = "mTLS" + mode.removeprefix("TLS")
        if not _has_certificate(_context(client).get("common_tls_context", {})):
            return False, mode, "the listener requires a client certificate and the client policy has none"
    trust = _trust(common)
    why = "TLS on both sides" + (f"; the listener verifies the client against {trust}" if trust else "")
    return True, mode, why + " (certificate contents are not checked offline)"
