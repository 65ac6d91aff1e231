"""`trace --format text` (a short tree for people) and `--format json` (one object for tools)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from meshlint.diagnostics import Diagnostic
from meshlint.trace.request import TraceRequest
from meshlint.trace.result import Hop, Ingress, Outcome, Policy, RouteLine, Target, Trace

_MARK = {"taken": "✓", "no match": "✗", "also matches": "·"}
Tree = list[tuple[str, "Tree"]]


def render_json(trace: Trace, findings: Sequence[Diagnostic]) -> str:
    payload = trace.to_json()
    payload["findings"] = [d.to_json() for d in findings]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def render_text(trace: Trace, findings: Sequence[Diagnostic]) -> str:
    req = trace.request
    extra = "".join(f", {n}: {v}" for n, v in req.headers if not req.grpc or n not in ("content-type", "te"))
    out = [f"{req.method} {req.url}{' (gRPC)' if req.grpc else ''}{extra} from {trace.origin} (mesh {trace.mesh})"]
    for hop in trace.hops:
        chain = f", chain {hop.chain}" if hop.chain else ""
        out.append(f"{hop.proxy}: {hop.listener} port {hop.port}{chain}")
        out += _lines(_hop(hop))
    out.append(_outcome(trace.outcome))
    if findings:
        out.append("findings on the way (as meshlint check reports them):")
        out += [f"  {d.path}:{d.line}:{d.column}: {d.severity.label}[{d.rule}] {d.message}" for d in findings]
    return "\n".join(out) + "\n"


def _lines(tree: Tree, prefix: str = "") -> list[str]:
    out: list[str] = []
    for i, (text, children) in enumerate(tree):
        last = i == len(tree) - 1
        head, *more = text.split("\n")
        out.append(f"{prefix}{'└─ ' if last else '├─ '}{head}")
        inner = prefix + ("   " if last else "│  ")
        out += [f"{inner}{line}" for line in more]
        out += _lines(children, inner)
    return out


def _hop(hop: Hop) -> Tree:
    tree: Tree = []
    if hop.virtual_host is not None:
        served = f" -> {hop.provider or 'virtual service ' + str(hop.service)}" if hop.service else ""
        tree.append((f"{_request(hop.request)} -> virtual host {hop.virtual_host}{served}", []))
    else:
        tree.append((_request(hop.request), []))
    tree += [(note, []) for note in hop.notes]
    for line in hop.routes:
        tree.append((_route(line) + (_policy(hop.policy) if line.verdict == "taken" and hop.policy else ""), []))
    if not hop.routes and hop.policy is not None and (hop.policy.idle_timeout or hop.policy.timeout):
        tree.append((_policy(hop.policy).lstrip("\n"), []))
    tree += [_target(t) for t in hop.targets]
    if hop.drop is not None:
        status = hop.drop.status if hop.drop.status is not None else "connection closed"
        tree.append((f"DROPPED ({status}): {hop.drop.reason}" + (f"\nhelp: {hop.drop.help}" if hop.drop.help
                                                                  else ""), []))
    return tree


def _request(req: TraceRequest) -> str:
    return f"{req.method} {req.path}, Host {req.authority}"


def _route(line: RouteLine) -> str:
    priority = "" if line.priority is None else f" [priority {line.priority}]"
    text = f"{_MARK[line.verdict]} {line.name}{priority} {line.match}"
    if line.verdict == "no match":
        return f"{text}: {line.reason}"
    if line.verdict == "also matches":
        return f"{text}: matches too, but {line.reason}"
    return text


def _policy(policy: Policy) -> str:
    parts = [] if policy.timeout is None else [
        "no request timeout" if policy.timeout == "0s" else f"timeout {policy.timeout}"]
    if policy.idle_timeout:
        parts.append(f"idle timeout {policy.idle_timeout}")
    if policy.retry is not None or policy.timeout is not None:
        parts.append(policy.retry or "no retries")
    return "\n" + "; ".join(parts) + "".join(f"\nrewrite: {r}" for r in policy.rewrites)


def _target(target: Target) -> tuple[str, Tree]:
    if target.node is None:
        return f"{target.percent:g}% {target.note or ''} ({target.cluster})", []
    more = [r for r in target.resilience if not r.startswith("connect timeout")]
    text = f"{target.percent:g}% {target.node} port {target.port} {target.protocol}, {target.tls} ({target.cluster})"
    text += "".join(f"\n{r}" for r in more)
    return text, [(_ingress(target.ingress), [])] if target.ingress is not None else []


def _ingress(ing: Ingress) -> str:
    name = ing.proxy.removeprefix("virtual node ")
    if not ing.ok:
        return f"{name} {ing.listener} port {ing.port}, {ing.tls}: HANDSHAKE FAILS: {ing.detail}"
    limits = [f"timeout {ing.timeout}" if ing.timeout != "0s" else "no request timeout"] if ing.timeout else []
    if ing.idle_timeout:
        limits.append(f"idle timeout {ing.idle_timeout}")
    limit = f"; {', '.join(limits)}" if limits else ""
    return f"{name} {ing.listener} port {ing.port}, {ing.tls}: handshake ok{limit} -> app {ing.app}"


def _outcome(outcome: Outcome) -> str:
    if outcome.drop is not None:
        status = outcome.drop.status if outcome.drop.status is not None else "connection closed"
        return f"result: dropped ({status})"
    parts = [f"{who} {share:g}%" for who, share in outcome.delivered.items()]
    text = "result: " + (", ".join(parts) if parts else "delivered nowhere")
    if outcome.failed:
        text += "; handshake fails: " + ", ".join(f"{who} {share:g}%" for who, share in outcome.failed.items())
    return text
