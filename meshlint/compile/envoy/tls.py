"""Listener TLS (DownstreamTlsContext) and client policies (UpstreamTlsContext): spec 4.6 and 5.5.

https://docs.aws.amazon.com/app-mesh/latest/userguide/tls.html and mutual-tls.html
ACM certificates and ACM Private CA trust cannot be fetched statically: unless `cert_map` / `ca_map` name
files, they fall back to an SDS secret named by the ARN (fails closed) and produce a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshlint.compile.envoy.context import Ctx
from meshlint.compile.envoy.envoy_json import Json, typed
from meshlint.compile.envoy.names import SDS_CLUSTER
from meshlint.compile.envoy.options import is_ip
from meshlint.model.entities import Resource
from meshlint.model.spec import SubjectAlternativeNames

_TLS = "envoy.transport_sockets.tls"
_TLS_V3 = "envoy.extensions.transport_sockets.tls.v3."


@dataclass(frozen=True)
class Where:
    """The resource owning a TLS block and the spec tokens leading to it, for finding pointers."""

    resource: Resource
    tokens: tuple[str | int, ...]

    def pointer(self, *more: str | int) -> str:
        return self.resource.spec_pointer(*self.tokens, *more)


def sds_secret(ctx: Ctx, name: str) -> Json:
    ctx.sds_secrets += 1
    source = {"api_type": "GRPC", "transport_api_version": "V3",
              "grpc_services": [{"envoy_grpc": {"cluster_name": SDS_CLUSTER}}]}
    return {"name": name, "sds_config": {"api_config_source": source, "resource_api_version": "V3"}}


def _file_pair(chain: str, key: str) -> Json:
    return {"certificate_chain": {"filename": chain}, "private_key": {"filename": key}}


def san_type(name: str) -> str:
    """App Mesh matched SANs by value; Envoy 1.40 needs a type (match_subject_alt_names is deprecated)."""
    if "://" in name:
        return "URI"
    if is_ip(name):
        return "IP_ADDRESS"
    return "EMAIL" if "@" in name else "DNS"


def san_matchers(names: list[str]) -> list[Json]:
    return [{"san_type": san_type(n), "matcher": {"exact": n}} for n in names]


def _sans(sans: SubjectAlternativeNames | None) -> list[str]:
    return list(sans.match.exact) if sans is not None else []


def certificate(ctx: Ctx, cert: Any, where: Where) -> Json:
    """A listener / client certificate (file, sds or acm) -> common_tls_context entries."""
    if cert.file is not None:
        pair = _file_pair(ctx.cert_path(cert.file.certificate_chain), ctx.cert_path(cert.file.private_key))
        return {"tls_certificates": [pair]}
    if cert.sds is not None:
        return {"tls_certificate_sds_secret_configs": [sds_secret(ctx, cert.sds.secret_name)]}
    if getattr(cert, "acm", None) is None:  # the schema requires one source; a hand-built model may not
        return {}
    arn: str = cert.acm.certificate_arn
    mapped = ctx.options.cert_map.get(arn)
    if mapped is not None:
        return {"tls_certificates": [_file_pair(*mapped)]}
    ctx.report(where.resource, where.pointer("acm", "certificateArn"),
               f"ACM certificate {arn} cannot be fetched by a static Envoy: the listener asks SDS for a secret "
               "named by the ARN instead",
               "map the ARN to files with --cert-map ARN=chain.pem,key.pem (aws acm export-certificate), or "
               "serve an SDS secret with that name")
    return {"tls_certificate_sds_secret_configs": [sds_secret(ctx, arn)]}


def validation(ctx: Ctx, trust: Any, sans: list[str], where: Where) -> Json:
    """A trust (file, sds or acm) plus SAN list -> common_tls_context validation entries."""
    matchers = {"match_typed_subject_alt_names": san_matchers(sans)} if sans else {}
    if trust.file is not None:
        return {"validation_context": {"trusted_ca": {"filename": ctx.cert_path(trust.file.certificate_chain)},
                                       **matchers}}
    if trust.sds is not None:
        secret = sds_secret(ctx, trust.sds.secret_name)
    elif getattr(trust, "acm", None) is None:
        return {}
    else:
        ca_file = _acm_trust(ctx, tuple(trust.acm.certificate_authority_arns), where)
        if ca_file is not None:
            return {"validation_context": {"trusted_ca": {"filename": ca_file}, **matchers}}
        secret = sds_secret(ctx, trust.acm.certificate_authority_arns[0])
    if not matchers:
        return {"validation_context_sds_secret_config": secret}
    return {"combined_validation_context": {"default_validation_context": matchers,
                                            "validation_context_sds_secret_config": secret}}


def _acm_trust(ctx: Ctx, arns: tuple[str, ...], where: Where) -> str | None:
    files = [ctx.options.ca_map.get(arn) for arn in arns]
    pointer = where.pointer("validation", "trust", "acm", "certificateAuthorityArns")
    if any(f is None for f in files):
        missing = ", ".join(arn for arn, f in zip(arns, files, strict=True) if f is None)
        ctx.report(where.resource, pointer,
                   f"ACM Private CA {missing} cannot be fetched by a static Envoy: the client asks SDS for a "
                   f"validation secret named {arns[0]} instead",
                   "map each CA ARN to a PEM bundle with --ca-map ARN=ca.pem "
                   "(aws acm-pca get-certificate-authority-certificate)")
        return None
    distinct = sorted({f for f in files if f is not None})
    if len(distinct) > 1:
        ctx.report(where.resource, pointer,
                   f"the CA ARNs map to {len(distinct)} different files but Envoy takes one trust bundle: only "
                   f"{files[0]} is used",
                   "concatenate the CA certificates into one PEM file and map every ARN to it")
    return files[0]


def downstream_tls(ctx: Ctx, tls: Any, where: Where, http: bool) -> Json:
    """Listener TLS; a validation context means mTLS: App Mesh then required a client certificate."""
    common = certificate(ctx, tls.certificate, Where(where.resource, (*where.tokens, "certificate")))
    if http:
        common["alpn_protocols"] = ["h2", "http/1.1"]
    context: Json = {"common_tls_context": common}
    if tls.validation is not None:
        common.update(validation(ctx, tls.validation.trust, _sans(tls.validation.subject_alternative_names),
                                 where))
        context["require_client_certificate"] = True
    return typed(_TLS, _TLS_V3 + "DownstreamTlsContext", **context)


@dataclass(frozen=True)
class UpstreamTarget:
    """What the client side needs to know about the server: its name, port, protocol and listener TLS."""

    name: str | None  # service-discovery name: SNI and the default SAN
    port: int
    protocol: str
    listener_tls: Any  # the target listener's ListenerTls or None
    where: Where  # the target listener, for findings about its certificate


def upstream_tls(ctx: Ctx, policy: Any, policy_where: Where | None, target: UpstreamTarget) -> Json | None:
    """The decision table of spec 5.5: enforced client policy, else the server's TLS mode, else plaintext."""
    common: Json = {}
    enforced = policy is not None and policy_where is not None and policy.enforce is not False and (
        not policy.ports or target.port in policy.ports)
    if enforced and policy_where is not None:
        sans = _sans(policy.validation.subject_alternative_names) or ([target.name] if target.name else [])
        common.update(validation(ctx, policy.validation.trust, sans, policy_where))
        if policy.certificate is not None:
            common.update(certificate(ctx, policy.certificate,
                                      Where(policy_where.resource, (*policy_where.tokens, "certificate"))))
    elif target.listener_tls is None or target.listener_tls.mode == "DISABLED":
        return None
    elif target.listener_tls.certificate.acm is not None:
        _unverified_acm(ctx, target)
    if target.protocol in ("http2", "grpc"):
        common["alpn_protocols"] = ["h2"]
    context: Json = {"common_tls_context": common}
    if target.name and not is_ip(target.name):
        context["sni"] = target.name
    return typed(_TLS, _TLS_V3 + "UpstreamTlsContext", **context)


def _unverified_acm(ctx: Ctx, target: UpstreamTarget) -> None:
    ctx.report(target.where.resource, target.where.pointer("tls", "certificate", "acm"),
               f"App Mesh clients verified the ACM certificate of {target.where.resource.name!r} port "
               f"{target.port} against the ACM root automatically; compiled clients without an enforced client "
               "policy encrypt but do not verify the server",
               "give the clients a client policy with validation trust (file, SDS, or ACM PCA mapped with "
               "--ca-map)")
