"""The command line: options in, an `api` call, a reporter, an exit code out.

Exit codes: 0 nothing at or above --fail-on; 1 there is; 2 usage error (bad option, missing path,
unreadable config). Heavy modules are imported inside the commands so `--help` stays instant.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="meshlint",
    help="Lint AWS App Mesh definitions and compile them into static Envoy bootstraps, offline.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


PathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Files or folders (walked for *.yaml, *.yml, *.json); '-' reads stdin. "
                   "Default: the current folder.", show_default=False),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Config file. Default: the nearest .meshlint.yaml from the current folder up."),
]
SelectOpt = Annotated[str | None, typer.Option("--select", help="Run only these rules (comma-separated slugs).")]
IgnoreOpt = Annotated[str | None, typer.Option("--ignore", help="Never report these rules (comma-separated).")]
EntryOpt = Annotated[
    list[str] | None,
    typer.Option("--entry-point", help="A virtual node fed from outside the mesh, as MESH/NODE (repeatable).",
                 show_default=False),
]


ParameterOpt = Annotated[list[str] | None, typer.Option(
    "--parameter", metavar="KEY=VALUE", show_default=False,
    help="A CloudFormation parameter value (repeatable); wins over the parameter's Default.")]
SubstituteEnvOpt = Annotated[bool, typer.Option(
    "--substitute-env", help="Fill ${VAR}, $VAR and {{ VAR }} placeholders from the environment before "
    "checking, like envsubst; unknown ones are kept and reported.")]
EnvFileOpt = Annotated[list[Path] | None, typer.Option(
    "--env-file", metavar="FILE", show_default=False,
    help="Fill placeholders from KEY=VALUE lines (repeatable; wins over --substitute-env).")]
NameFragmentOpt = Annotated[list[str] | None, typer.Option(
    "--name-fragment", metavar="PATH=KIND:MESH/NAME", show_default=False,
    help="Name a spec-only AWS CLI --cli-input-json file (repeatable), e.g. vn.json=VirtualNode:shop/web; "
    "routes: Route:MESH/ROUTER/NAME.")]


def _inputs(parameter: list[str] | None, substitute_env: bool, env_file: list[Path] | None,  # type: ignore[no-untyped-def]
            name_fragment: list[str] | None):
    """InputOptions from the input flags; a malformed one is a UsageError."""
    import os

    from meshlint.load.files import UsageError
    from meshlint.normalize import InputOptions, parse_fragment_name
    from meshlint.normalize.templates import read_env_file

    def pairs(flag: str, values: list[str] | None) -> dict[str, str]:
        out = {}
        for item in values or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
            out[key] = value
        return out

    substitutions: dict[str, str] | None = dict(os.environ) if substitute_env else None
    for path in env_file or []:
        try:
            substitutions = {**(substitutions or {}), **read_env_file(path)}
        except (OSError, ValueError) as err:
            raise UsageError(f"--env-file {err}") from None
    fragments = pairs("--name-fragment", name_fragment)
    for text in fragments.values():
        try:
            parse_fragment_name(text)
        except ValueError as err:
            raise UsageError(f"--name-fragment {err}") from None
    return InputOptions(pairs("--parameter", parameter), substitutions, fragments)


def _fail(message: str) -> typer.Exit:
    print(f"meshlint: error: {message}", file=sys.stderr)
    return typer.Exit(2)


def _settings(config: Path | None, select: str | None, ignore: str | None, entry_points: list[str] | None,  # type: ignore[no-untyped-def]
              paths: list[str] | None = None):
    from dataclasses import replace

    from meshlint import catalogue
    from meshlint.config import find_config_for, load_settings, parse_rule_names

    known = list(catalogue.load())
    if config is not None and not config.is_file():
        raise _fail(f"{config}: config file not found")
    path = config or find_config_for(paths or ["."])
    settings = load_settings(path, known).with_cli(parse_rule_names(select, known), parse_rule_names(ignore, known))
    if entry_points:
        settings = replace(settings, entry_points=settings.entry_points | frozenset(entry_points))
    return settings


@app.command()
def check(
    paths: PathsArg = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Lowest severity that fails the run.")] = FailOn.error,
    entry_point: EntryOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also report files with no App Mesh resource.")
    ] = False,
    mesh_roots: Annotated[bool, typer.Option(
        "--mesh-roots", help="Treat PATHS as changed files and check the whole mesh of each: its mesh root, the "
        "nearest folder up to the current one holding a meshlint config, else the current folder. The pre-commit "
        "hook uses this, since cross-file rules need the whole mesh.")] = False,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", metavar="FILE", show_default=False,
        help="Known findings: when FILE does not exist, write every current finding into it and exit 0; when it "
        "does, report (and fail on) only findings not in it. Keyed on rule, resource, JSON Pointer and message, "
        "not on lines.")] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the safe fixes (weights-sum: the same split as "
                                      "percentages), keeping comments and layout; then report what is left.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the safe fixes as a unified diff and write nothing; "
                                       "exit 1 when there is one.")] = False,
    compile: Annotated[bool, typer.Option(
        "--compile", help="Also run the compiler (the config's build: options; nothing is written) and report "
        "what build would report as not-compilable. Adds about two thirds of a check's time.")] = False,
    parameter: ParameterOpt = None,
    substitute_env: SubstituteEnvOpt = False,
    env_file: EnvFileOpt = None,
    name_fragment: NameFragmentOpt = None,
) -> None:
    """Check App Mesh definitions: schema, references, reachability, weights, TLS, cycles.

    Example: meshlint check mesh/ --format json
    """
    from meshlint.diagnostics import Severity
    from meshlint.load.files import UsageError

    def run() -> object:
        inputs = _inputs(parameter, substitute_env, env_file, name_fragment)
        return _checked(paths, config, select, ignore, entry_point, verbose, mesh_roots, inputs, compile)

    try:
        result = run()
        if (fix or diff) and _fixed(result, write=not diff):
            if diff:
                raise typer.Exit(1)
            result = run()
        elif diff:
            raise typer.Exit(0)
        if baseline is not None:
            result = _baselined(result, baseline)
    except UsageError as err:
        raise _fail(str(err)) from None
    print(_report(result, format), end="")
    if format is Format.github:
        from meshlint.emit.text import _summary_line

        print(_summary_line(result.summary()), file=sys.stderr)  # type: ignore[attr-defined]
    raise typer.Exit(1 if result.failed(Severity.parse(fail_on.value)) else 0)  # type: ignore[attr-defined]


def _checked(paths: list[str] | None, config: Path | None, select: str | None, ignore: str | None,
             entry_point: list[str] | None, verbose: bool, mesh_roots: bool, inputs: object = None,
             compile: bool = False) -> object:
    """api.check of PATHS, or with --mesh-roots of the mesh root of each, each with its own config."""
    from meshlint import api, roots

    if not mesh_roots:
        return api.check(paths or ["."], _settings(config, select, ignore, entry_point, paths), verbose=verbose,
                         inputs=inputs, compile=compile)  # type: ignore[arg-type]
    found = roots.mesh_roots(paths or ["."], Path.cwd())
    plan = [(roots.display(root), _settings(config, select, ignore, entry_point, [roots.display(root)]),
             roots.nested(root, found)) for root in found]
    return api.check_roots(plan, verbose=verbose, inputs=inputs, compile=compile)  # type: ignore[arg-type]


def _fixed(result: object, *, write: bool) -> bool:
    """Apply (or with write=False print as a diff) the safe fixes; True when there was one."""
    from meshlint.api import CheckResult
    from meshlint.emit.render import write_file
    from meshlint.fix import plan

    assert isinstance(result, CheckResult)
    changes, notes = plan(result.diagnostics, result.sources)  # type: ignore[arg-type]
    for note in notes:
        print(f"meshlint: {note}", file=sys.stderr)
    for change in changes:
        if not write:
            print(change.diff(), end="")
            continue
        source = result.sources[change.path]
        write_file(source.input.path, change.after.encode())  # type: ignore[attr-defined]
        for what in change.fixes:
            print(f"meshlint: fixed {change.path}: {what}", file=sys.stderr)
    return bool(changes)


def _baselined(result: object, path: Path) -> object:
    """--baseline: write it on first use; afterwards keep only the findings it does not know."""
    from dataclasses import replace

    from meshlint import baseline
    from meshlint.api import CheckResult

    assert isinstance(result, CheckResult)
    if not path.exists():
        baseline.write(path, result.diagnostics)
        count = len(result.diagnostics)
        print(f"meshlint: wrote {path} with {count} known finding{'' if count == 1 else 's'}; from now on only "
              "new findings are reported", file=sys.stderr)
        return replace(result, diagnostics=[])
    filtered = baseline.filter_known(result.diagnostics, baseline.read(path))
    if filtered.known:
        print(f"meshlint: {filtered.known} known finding{'' if filtered.known == 1 else 's'} in {path} not "
              "reported", file=sys.stderr)
    if filtered.gone:
        print(f"meshlint: {filtered.gone} finding{'' if filtered.gone == 1 else 's'} in {path} no longer "
              f"occur{'s' if filtered.gone == 1 else ''}; delete {path} and run again to shrink it",
              file=sys.stderr)
    return replace(result, diagnostics=filtered.new)


def _report(result: object, fmt: Format) -> str:
    from meshlint.api import CheckResult

    assert isinstance(result, CheckResult)
    if fmt is Format.json:
        from meshlint.emit import json_report

        return json_report.render(result.diagnostics, result.summary())
    if fmt is Format.sarif:
        from meshlint import __version__, catalogue
        from meshlint.emit import sarif

        return sarif.render(result.diagnostics, list(catalogue.load().values()), __version__)
    if fmt is Format.github:
        from meshlint.emit import github

        return github.render(result.diagnostics)
    from meshlint.emit import text

    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ

    def lines_of(path: str) -> list[str]:
        source = result.sources.get(path)
        return source.lines() if source is not None else []  # type: ignore[attr-defined]

    return text.render(result.diagnostics, result.summary(), lines_of, colour)


OutOpt = Annotated[
    Path,
    typer.Option("--out", "-o", help="Output folder (required). Never read as input. Files meshlint did not write "
                 "there (not in its meshlint-manifest.json) are kept untouched; the new tree is swapped in whole, so "
                 "an interrupted build leaves the previous output intact.", show_default=False),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Also report files with no App Mesh resource.")]
AdminPortOpt = Annotated[int | None, typer.Option(
    "--admin-port", metavar="PORT", show_default=False,
    help="Port of Envoy's admin interface (/stats, /config_dump); App Mesh used 9901.")]
AdminAddressOpt = Annotated[str | None, typer.Option(
    "--admin-address", metavar="IP", show_default=False,
    help="IP the admin interface listens on; App Mesh used 0.0.0.0. Use 127.0.0.1 to keep it off the network.")]
TracingOpt = Annotated[str | None, typer.Option(
    "--tracing", metavar="[none|xray|zipkin|opentelemetry]", show_default=False,
    help="Tracer set on every HTTP connection manager (default none). xray sends to the X-Ray daemon over UDP.")]
TracingAddressOpt = Annotated[str | None, typer.Option(
    "--tracing-address", metavar="HOST:PORT", show_default=False,
    help="Where the tracer listens. Defaults: xray 127.0.0.1:2000 (must be an IP), zipkin 127.0.0.1:9411, "
         "opentelemetry 127.0.0.1:4317. IPv6 as [::1]:2000.")]
StatsSinkOpt = Annotated[str | None, typer.Option(
    "--stats-sink", metavar="[statsd|dogstatsd]", show_default=False,
    help="Also push stats to a statsd or DogStatsD agent over UDP (default: none; scrape /stats/prometheus).")]
StatsSinkAddressOpt = Annotated[str | None, typer.Option(
    "--stats-sink-address", metavar="IP:PORT", show_default=False,
    help="Address of the stats agent; default 127.0.0.1:8125.")]
NoStatsTagsOpt = Annotated[bool, typer.Option(
    "--no-stats-tags", help="Leave out App Mesh's appmesh.* stats tags (mesh, virtual node, listener port).")]
ResolveOpt = Annotated[list[str] | None, typer.Option(
    "--resolve", metavar="HOST=IP", show_default=False,
    help="Pin a DNS service-discovery hostname to an IP: that egress cluster becomes STATIC instead of DNS. "
         "Repeatable, e.g. --resolve color.shop.local=10.0.0.12.")]
CertMapOpt = Annotated[list[str] | None, typer.Option(
    "--cert-map", metavar="ARN=CHAIN,KEY", show_default=False,
    help="Use these PEM files for a listener certificate the mesh takes from ACM (Envoy cannot fetch it), e.g. "
         "--cert-map arn:aws:acm:...:certificate/abc=/certs/chain.pem,/certs/key.pem. Repeatable.")]
CaMapOpt = Annotated[list[str] | None, typer.Option(
    "--ca-map", metavar="ARN=CAFILE", show_default=False,
    help="Trust this PEM bundle where a client policy trusts an ACM Private CA, e.g. "
         "--ca-map arn:aws:acm-pca:...:certificate-authority/abc=/certs/ca.pem. Repeatable.")]
SdsSocketOpt = Annotated[str | None, typer.Option(
    "--sds-socket", metavar="PATH", show_default=False,
    help="Unix socket of the SDS agent (SPIRE) for sds certificates; default /run/spire/sockets/agent.sock.")]
AppMeshDefaultsOpt = Annotated[str | None, typer.Option(
    "--appmesh-defaults", metavar="[2020-07|legacy]", show_default=False,
    help="2020-07 (default): App Mesh's default retry policy and unlimited circuit breakers, as for accounts "
         "created after 2020-07-29; legacy: no default retries and Envoy's own 1024/1024/1024/3 breakers.")]


@app.command()
def build(
    out: OutOpt,
    paths: PathsArg = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    entry_point: EntryOpt = None,
    verbose: VerboseOpt = False,
    admin_port: AdminPortOpt = None,
    admin_address: AdminAddressOpt = None,
    tracing: TracingOpt = None,
    tracing_address: TracingAddressOpt = None,
    stats_sink: StatsSinkOpt = None,
    stats_sink_address: StatsSinkAddressOpt = None,
    no_stats_tags: NoStatsTagsOpt = False,
    resolve: ResolveOpt = None,
    cert_map: CertMapOpt = None,
    ca_map: CaMapOpt = None,
    sds_socket: SdsSocketOpt = None,
    appmesh_defaults: AppMeshDefaultsOpt = None,
    parameter: ParameterOpt = None,
    substitute_env: SubstituteEnvOpt = False,
    env_file: EnvFileOpt = None,
    name_fragment: NameFragmentOpt = None,
    check_only: Annotated[bool, typer.Option(
        "--check", help="Write nothing: exit 1 when --out differs from what this build would write (a file "
        "missing, changed, or no longer generated; SVGs are not compared), 0 when it is up to date. For CI and "
        "the meshlint-build-check pre-commit hook.")] = False,
) -> None:
    """Check, then compile every virtual node and gateway into an Envoy v3 static bootstrap under --out.

    Writes <mesh>/virtual-nodes/<node>.json, <mesh>/virtual-gateways/<gateway>.json, <mesh>/topology.dot
    (and .svg with Graphviz) and meshlint-manifest.json. Any error: the report, exit 1, --out untouched.
    Every build option can also be set under `build:` in .meshlint.yaml; a flag given here wins.

    Example: meshlint build mesh/ --out envoy/ --tracing xray --resolve color.shop.local=10.0.0.12
    """
    from meshlint import api
    from meshlint.emit.writer import OutputError
    from meshlint.load.files import UsageError

    flags: dict[str, object] = {"admin-port": admin_port, "admin-address": admin_address, "tracing": tracing,
                                "tracing-address": tracing_address, "stats-sink": stats_sink,
                                "stats-sink-address": stats_sink_address, "no-stats-tags": no_stats_tags or None,
                                "resolve": resolve, "cert-map": cert_map, "ca-map": ca_map, "sds-socket": sds_socket,
                                "appmesh-defaults": appmesh_defaults}
    try:
        settings = _settings(config, select, ignore, entry_point, paths)
        options = api.compile_options(settings, _build_flags(flags))
        result = api.build(paths or ["."], out, settings, options, verbose=verbose,
                           inputs=_inputs(parameter, substitute_env, env_file, name_fragment),
                           check_only=check_only)
    except (UsageError, OutputError) as err:
        raise _fail(str(err)) from None
    print(_build_report(result, out, format), end="", flush=True)
    if result.drift is not None:
        _drift_notes(result.drift, out)
        raise typer.Exit(1 if result.drift else 0)
    _build_notes(result, out)
    raise typer.Exit(0 if result.written is not None else 1)


def _drift_notes(drift: list[str], out: Path) -> None:
    shown = os.path.join(str(out), "")
    for line in drift:
        print(f"meshlint: {shown}: {line}", file=sys.stderr)
    if drift:
        print(f"meshlint: {shown} is out of date; run `meshlint build --out {shown}` and commit it", file=sys.stderr)
    else:
        print(f"meshlint: {shown} is up to date", file=sys.stderr)


def _build_flags(flags: dict[str, object]) -> dict[str, object]:
    """The build flags given, as (CompileOptions field -> value); a malformed one is a UsageError."""
    from meshlint.config import build_option
    from meshlint.load.files import UsageError

    parsed = {}
    for key, value in flags.items():
        if value is not None:
            try:
                name, parsed[name] = build_option(key, value)
            except ValueError as err:
                raise UsageError(f"--{key}: {err}") from None
    return parsed


def _build_report(result: object, out: Path, fmt: Format) -> str:
    """The check report for stdout; with --format json plus a "build" object (null when nothing was written)."""
    import json

    from meshlint.api import BuildResult

    assert isinstance(result, BuildResult)
    report = _report(result.check, fmt)
    if fmt is not Format.json:
        return report
    payload = json.loads(report)
    written = result.written
    payload["build"] = None if written is None else {"out": str(out), "files": written.files,
                                                     "removed": written.removed}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _build_notes(result: object, out: Path) -> None:
    """Warnings and one summary line, on stderr (stdout stays the report alone)."""
    from meshlint.api import BuildResult

    assert isinstance(result, BuildResult)
    shown = os.path.join(str(out), "")
    if result.written is None:
        errors = result.check.summary()["errors"]
        print(f"meshlint: {errors} error{'' if errors == 1 else 's'}; {shown} left untouched", file=sys.stderr)
        return
    for warning in (*result.warnings, *result.written.warnings):
        print(f"meshlint: warning: {warning}", file=sys.stderr)
    print(_wrote_line(result.written, shown), file=sys.stderr)


def _wrote_line(written: object, shown: str) -> str:
    from meshlint.emit.writer import WriteResult

    assert isinstance(written, WriteResult)

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    notes = [f"{len(written.removed)} removed"] if written.removed else []
    if written.kept:
        notes.append(f"{count(len(written.kept), 'unchanged foreign file')} kept")
    return f"wrote {count(len(written.files), 'file')} to {shown}" + (f" ({', '.join(notes)})" if notes else "")


@app.command()
def rules() -> None:
    """List every rule: code, slug, default severity and summary."""
    from meshlint import catalogue

    for doc in catalogue.load().values():
        print(f"{doc.code}  {doc.slug:<22} {doc.severity.label:<8} {doc.summary}")


@app.command()
def explain(rule: Annotated[str, typer.Argument(help="A rule slug (weights-sum) or code (ML004).")]) -> None:
    """Show a rule's documentation: what it does, why, a bad and a fixed example, how to configure it."""
    from meshlint import catalogue

    doc = catalogue.lookup(rule)
    if doc is None:
        import difflib

        close = difflib.get_close_matches(rule, list(catalogue.load()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; see `meshlint rules`"
        raise _fail(f"unknown rule {rule!r}{hint}")
    print(f"{doc.code} {doc.slug} ({doc.severity.label} by default, {doc.lifecycle})\n")
    print(f"{doc.summary}\n")
    for heading, body in doc.sections.items():
        print(f"## {heading}\n\n{body}\n")
    print("## Suppressing it\n")
    print(f"Switch it off or change its level in .meshlint.yaml:\n\n    rules:\n      {doc.slug}: off\n")
    print(f"or for one run: meshlint check --ignore {doc.slug}\n")
    print(f"or for one place, with the reason: # meshlint: disable={doc.slug} -- <why this is fine here>\n")
    if doc.references:
        print("## References\n")
        for ref in doc.references:
            print(f"- {ref}")


def main() -> None:
    """The `meshlint` executable: one command, then the process ends.

    The cyclic GC stays off for the whole process: everything the run builds stays referenced until the
    end, so a collection finds nothing, yet the first one after the run would scan every object (0.2 s
    on a 1,000-service mesh). For the same reason the process ends without freeing its objects one by
    one, once the output is flushed (as mypy does).
    """
    gc.disable()
    try:
        app()
        code: int = 0
    except SystemExit as done:
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`meshlint check | head`): nothing more to tell
            stream.flush()
    os._exit(code)


@app.command()
def graph(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .dot, .svg or .png (by suffix).",
                                         show_default=False)],
    paths: PathsArg = None,
    config: ConfigOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    entry_point: EntryOpt = None,
    parameter: ParameterOpt = None,
    substitute_env: SubstituteEnvOpt = False,
    env_file: EnvFileOpt = None,
    name_fragment: NameFragmentOpt = None,
    collapse: Annotated[bool, typer.Option("--collapse", help="One box per virtual service (routers and nodes "
                                           "folded in): for meshes too large to draw in full.")] = False,
) -> None:
    """Draw the mesh topology: gateways, services, routers, nodes, TLS of every connection, check's findings.

    .svg and .png need Graphviz's `dot`; without it the DOT is written beside (exit 2). Findings are drawn,
    not reported: exit 0 whenever the picture was written.

    Example: meshlint graph mesh/ -o topology.svg
    """
    from meshlint import api
    from meshlint.load.files import UsageError

    fmt = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}.get(output.suffix.lower())
    if fmt is None:
        raise _fail(f"{output}: cannot tell the format from {output.suffix or 'no suffix'!r}; use .dot, .svg or .png")
    try:
        settings = _settings(config, select, ignore, entry_point, paths)
        result = api.graph(paths or ["."], settings,
                           inputs=_inputs(parameter, substitute_env, env_file, name_fragment), collapse=collapse)
    except UsageError as err:
        raise _fail(str(err)) from None
    _write_graph(result.dot, output, fmt)
    counts = result.check.summary()
    print(f"meshlint: wrote {output} ({counts['errors']} errors, {counts['warnings']} warnings drawn; "
          "`meshlint check` lists them)", file=sys.stderr)


def _write_graph(dot: str, output: Path, fmt: str) -> None:
    """Write `dot` or its rendering; without Graphviz write the DOT beside `output` and exit 2 saying how."""
    import shlex

    from meshlint.emit import render

    try:
        content = dot.encode() if fmt == "dot" else render.render(dot, fmt)
        if content is None:
            fallback = output.with_suffix(".dot")
            render.write_file(fallback, dot.encode())
            raise _fail(f"Graphviz's `dot` is not installed, so {output} was not drawn; wrote {fallback} instead. "
                        f"To draw it, {render.INSTALL_HINT} and run again, or run: "
                        f"dot -T{fmt} {shlex.quote(str(fallback))} -o {shlex.quote(str(output))}")
        render.write_file(output, content)
    except render.RenderError as err:
        raise _fail(f"{output}: {err}; the DOT is written with -o {output.with_suffix('.dot')}") from None
    except OSError as err:
        raise _fail(f"cannot write {output}: {err.strerror or err}") from None
