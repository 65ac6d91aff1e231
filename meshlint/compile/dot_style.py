"""How the topology diagram looks: colours and styles, router and gateway tables, route match labels, and
the legend. (What it shows about TLS and findings is dot_facts.py.)
"""

from __future__ import annotations

from typing import Any

from meshlint.compile.dot_facts import listener_state, printable
from meshlint.compile.dot_writer import Statements
from meshlint.model.entities import Resource
from meshlint.model.graph import route_type
from meshlint.model.spec import GatewayRouteSpec, RouteSpec

TLS_WORDS = {"mtls": "mTLS", "tls": "TLS", "permissive": "permissive", "plaintext": "plaintext"}
TLS_STYLE: dict[str, dict[str, str]] = {
    "broken": {"color": "#cf222e", "style": "solid", "penwidth": "2.2", "arrowhead": "tee"},
    "mtls": {"color": "#1a7f37", "style": "solid", "penwidth": "1.6"},
    "tls": {"color": "#0969da", "style": "solid", "penwidth": "1.2"},
    "permissive": {"color": "#bf8700", "style": "dashed", "penwidth": "1.4"},
    "plaintext": {"color": "#fb8500", "style": "dotted", "penwidth": "1.8"},
}
ROUTING_COLOUR = "#8c959f"
FINDING_COLOUR = "#cf222e"
_BORDER = "#57606a"
_FILL = {"VirtualGateway": "#f5e8ff", "VirtualService": "#ddf4ff", "VirtualRouter": "#fff8c5",
         "VirtualNode": "#f6f8fa"}
GRAPH_ATTR = {
    "rankdir": "LR", "ranksep": "0.5", "nodesep": "0.12", "fontname": "Helvetica",
    "fontsize": "12", "labeljust": "l", "pad": "0.2", "outputorder": "edgesfirst",
}
KIND_STYLE: dict[str, dict[str, str]] = {
    "default": {"fontname": "Helvetica", "fontsize": "10", "height": "0.3", "margin": "0.08,0.03",
                "color": _BORDER},
    "edge": {"arrowsize": "0.6"},
    "VirtualService": {"shape": "box", "style": "rounded,filled", "fillcolor": _FILL["VirtualService"]},
    "VirtualNode": {"shape": "box", "style": "filled", "fillcolor": _FILL["VirtualNode"]},
}
UNREACHABLE_STYLE = {"fillcolor": "#eaeef2", "color": "#afb8c1", "fontcolor": "#8c959f", "style": "filled,dashed"}
MISSING_STYLE = {"shape": "box", "style": "dashed,rounded", "color": FINDING_COLOUR, "fontcolor": FINDING_COLOUR}
_KIND_WORDS = {"VirtualGateway": "virtual gateway", "VirtualService": "virtual service",
               "VirtualRouter": "virtual router", "VirtualNode": "virtual node", "Mesh": "mesh"}
_MAX_PART = 28


def kind_word(kind: str) -> str:
    return _KIND_WORDS.get(kind, kind)


def listener_summary(resource: Resource) -> list[str]:
    """':8080 http mTLS' per listener (routers: no TLS of their own), as one label line."""
    listeners = getattr(getattr(resource, "spec", None), "listeners", None) or ()
    parts = []
    for listener in listeners:
        text = f":{listener.port_mapping.port} {listener.port_mapping.protocol}"
        if resource.kind != "VirtualRouter":
            text += f" {TLS_WORDS[listener_state(listener.tls)]}"
        parts.append(text)
    return [", ".join(parts)] if parts else []


# ---- tables (routers and gateways: one row per route) ----------------------------------------------------
Row = tuple[str, str, list[str]]  # route name, match, one cell per target (weights; [""] for a gateway route)


def table_label(kind: str, header: list[str], rows: list[Row], *, missing: bool = False) -> str:
    """An HTML-like label: name and listeners, then per route its name and match and, per target, a cell
    (the weight) whose port `r<route>t<target>` the target's edge leaves from."""
    colour = FINDING_COLOUR if missing else _BORDER
    style = ' STYLE="dashed"' if missing else ""
    head = "<BR/>".join(_html(line) for line in header)
    width = 2 if any(len(cells) > 1 or cells[0] for _, _, cells in rows) else 1
    out = [f'<TR><TD COLSPAN="{width}" BGCOLOR="{_FILL[kind]}"{style}>{head}</TD></TR>']
    for i, (name, match, cells) in enumerate(rows):
        port = "" if width == 2 else f' PORT="r{i}t0"'
        route = (f'<TD ROWSPAN="{len(cells)}" ALIGN="LEFT"{style}{port}>'
                 f'{_html(name)}<BR ALIGN="LEFT"/><FONT COLOR="#57606a">{_html(match)}</FONT>'
                 '<BR ALIGN="LEFT"/></TD>')
        for j, cell in enumerate(cells):
            weight = f'<TD PORT="r{i}t{j}"{style}>{_html(cell)}</TD>' if width == 2 else ""
            out.append(f"<TR>{route if j == 0 else ''}{weight}</TR>")
    font = f' COLOR="{FINDING_COLOUR}"' if missing else ""
    return (f'<<FONT POINT-SIZE="8"{font}><TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2" '
            f'BGCOLOR="white" COLOR="{colour}">{"".join(out)}</TABLE></FONT>>')


def _html(text: str) -> str:
    return printable(text).translate(_HTML_ESCAPES)


_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\\": "&#92;"})


# ---- route labels -----------------------------------------------------------------------------------------
def weight_text(weight: int, total: int) -> str:
    return f"{weight}%" if total == 100 else f"weight {weight} of {total}"


def match_text(spec: RouteSpec | GatewayRouteSpec) -> str:
    """A short reading of a route's match: 'GET /api/v2/* accept~/^app.../', 'grpc Svc/Method', 'tcp'."""
    kind = route_type(spec)
    if kind is None:
        return "?"
    match: Any = getattr(getattr(spec, kind), "match", None)
    port = getattr(match, "port", None)
    if kind == "tcp_route":
        return "tcp" + (f" :{port}" if port else "")
    parts = _grpc_parts(match) if kind == "grpc_route" else _http_parts(match)
    hostname = getattr(match, "hostname", None)
    if hostname is not None:
        parts.insert(0, f"host {hostname.exact or '*' + (hostname.suffix or '')}")
    for header in getattr(match, "headers", None) or getattr(match, "metadata", None) or ():
        parts.append(("not " if header.invert else "") + header.name + _method_text(header.match))
    for query in getattr(match, "query_parameters", None) or ():
        parts.append(f"?{query.name}" + (f"={query.match.exact}" if query.match and query.match.exact else ""))
    if port:
        parts.append(f":{port}")
    return " ".join(_short(p) for p in parts) or "*"


def _http_parts(match: Any) -> list[str]:
    parts = [match.method] if match.method else []
    if getattr(match, "scheme", None):
        parts.append(f"{match.scheme}:")
    if match.prefix is not None:
        parts.append(match.prefix + "*")
    elif match.path is not None:
        parts.append(match.path.exact if match.path.exact is not None else f"~/{match.path.regex}/")
    return parts


def _grpc_parts(match: Any) -> list[str]:
    return [f"grpc {match.service_name or '*'}/{getattr(match, 'method_name', None) or '*'}"]


def _method_text(method: Any) -> str:
    if method is None:
        return " present"
    if method.exact is not None:
        return f"={method.exact}"
    if method.prefix is not None:
        return f"={method.prefix}*"
    if method.suffix is not None:
        return f"=*{method.suffix}"
    if method.regex is not None:
        return f"~/{method.regex}/"
    return f" in [{method.range.start},{method.range.end})" if method.range else ""


def _short(text: str) -> str:
    return text if len(text) <= _MAX_PART else text[: _MAX_PART - 1] + "…"


# ---- legend -----------------------------------------------------------------------------------------------
_LEGEND_EDGES = (
    ("mtls", "mTLS: client certificate, listener validates it"),
    ("tls", "TLS, one side not authenticated"),
    ("permissive", "permissive listener: plaintext accepted too"),
    ("plaintext", "plaintext (no TLS at one end)"),
    ("broken", "TLS handshake fails (tls-handshake-fails)"),
)


def legend(dot: Statements) -> None:
    """One table node: the node kinds, the TLS state of a connection, and the finding overlays."""
    rows = ['<TR><TD COLSPAN="2"><B>Legend</B></TD></TR>']
    for kind, text in (("VirtualGateway", "virtual gateway: routes, match"),
                       ("VirtualService", "virtual service"),
                       ("VirtualRouter", "virtual router: routes, match, weight"),
                       ("VirtualNode", "virtual node: listeners")):
        rows.append(f'<TR><TD BORDER="1" BGCOLOR="{_FILL[kind]}">{kind_word(kind)}</TD>'
                    f'<TD ALIGN="LEFT">{text}</TD></TR>')
    for state, text in _LEGEND_EDGES:
        rows.append(_legend_line(TLS_STYLE[state], text))
    rows.append(_legend_line({"color": ROUTING_COLOUR, "style": "solid"}, "routing (config, not a connection)"))
    rows.append(_legend_line({"color": FINDING_COLOUR, "style": "solid"}, "on a routing cycle"))
    rows.append(f'<TR><TD BORDER="1" BGCOLOR="{UNREACHABLE_STYLE["fillcolor"]}"><FONT COLOR="#8c959f">unreachable'
                '</FONT></TD><TD ALIGN="LEFT">virtual node no traffic reaches</TD></TR>')
    rows.append(f'<TR><TD BORDER="1" STYLE="dashed" COLOR="{FINDING_COLOUR}"><FONT COLOR="{FINDING_COLOUR}">missing'
                '</FONT></TD><TD ALIGN="LEFT">referenced, not defined</TD></TR>')
    table = ('<<TABLE BORDER="1" COLOR="#d0d7de" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2">'
             f'{"".join(rows)}</TABLE>>')
    dot.node("legend", label=table, shape="plain", fontsize="9")


def _legend_line(style: dict[str, str], text: str) -> str:
    """A sample of the edge style: the bottom border of the upper half of a cell, in the edge's colour and dash."""
    dash = f' STYLE="{style["style"]}"' if style["style"] != "solid" else ""
    sample = (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD SIDES="B" BORDER="2" WIDTH="40" '
              f'HEIGHT="7" COLOR="{style["color"]}"{dash}></TD></TR><TR><TD HEIGHT="7"></TD></TR></TABLE>')
    return f'<TR><TD>{sample}</TD><TD ALIGN="LEFT">{_html(text)}</TD></TR>'
