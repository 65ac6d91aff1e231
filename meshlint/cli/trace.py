"""`meshlint trace`: where a request goes through the compiled Envoys, hop by hop, and why."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from meshlint.cli import report
from meshlint.cli.options import (
    ConfigOpt,
    EnvFileOpt,
    NameFragmentOpt,
    ParameterOpt,
    PathsArg,
    SubstituteEnvOpt,
    fail,
    input_options,
    settings,
)


class TraceFormat(StrEnum):
    text = "text"
    json = "json"


def trace(
    origin: Annotated[str, typer.Option(
        "--from", metavar="NODE|gateway/GATEWAY", show_default=False,
        help="Where the request starts: the app of a virtual node (NODE), or a client of a virtual gateway "
        "(gateway/GATEWAY); prefix MESH/ when several meshes are loaded.")],
    url: Annotated[str, typer.Option(
        "--url", metavar="http://HOST[:PORT]/PATH", show_default=False,
        help="The request as the app (or the gateway's client) sends it: HOST is the Host header, PORT the "
        "port it dials (80 or 443 when left out).")],
    paths: PathsArg = None,
    method: Annotated[str | None, typer.Option(
        "-X", "--request", metavar="METHOD", show_default=False,
        help="HTTP method (GET; POST with --grpc).")] = None,
    header: Annotated[list[str] | None, typer.Option(
        "-H", "--header", metavar="'NAME: VALUE'", show_default=False,
        help="A request header (repeatable); 'Host: ...' replaces the URL's host.")] = None,
    grpc: Annotated[str | None, typer.Option(
        "--grpc", metavar="SERVICE/METHOD", show_default=False,
        help="A gRPC call: path /SERVICE/METHOD, POST, content-type application/grpc.")] = None,
    format: Annotated[TraceFormat, typer.Option("--format", "-f", help="Output format.")] = TraceFormat.text,
    config: ConfigOpt = None,
    parameter: ParameterOpt = None,
    substitute_env: SubstituteEnvOpt = False,
    env_file: EnvFileOpt = None,
    name_fragment: NameFragmentOpt = None,
) -> None:
    """Follow one request through the Envoys `build` compiles: listener, virtual host, every route tried
    (and why it lost), weighted targets, the target's listener and TLS handshake, timeouts, retries.

    Exit 0: some app receives the request; 1: it is dropped (or every handshake fails); 2: usage error;
    3: meshlint failed.

    Example: meshlint trace mesh/ --from web --url http://orders.shop.local:8080/api -H 'x-canary: true'
    """
    from meshlint import api
    from meshlint.load.files import UsageError
    from meshlint.trace import RequestError, parse_request
    from meshlint.trace.render import render_json, render_text

    try:
        request = parse_request(url, method, header, grpc)
    except RequestError as err:
        raise fail(str(err)) from None
    try:
        found = settings(config, None, None, None, paths)
        inputs = input_options(parameter, substitute_env, env_file, name_fragment)
        result = api.trace(paths or ["."], origin, request, found, inputs=inputs)
    except UsageError as err:
        raise fail(str(err)) from None
    render = render_json if format is TraceFormat.json else render_text
    print(render(result.trace, result.findings), end="")
    errors = result.check.summary()["errors"]
    if errors:
        print(f"meshlint: check reports {errors} error{'' if errors == 1 else 's'} in the input: build writes no "
              "bootstrap until they are fixed (`meshlint check` lists them)", file=sys.stderr)
    if report.crashed(result.check):
        raise typer.Exit(report.EXIT_INTERNAL)
    raise typer.Exit(0 if result.trace.outcome.delivered else 1)
