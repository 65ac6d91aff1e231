"""The request to trace, from curl-like options: the URL, `-X`, `-H 'K: V'`, `--grpc SERVICE/METHOD`.

Every HTTP connection manager on the way normalises the path before routing as the compiled ones are told
to (`normalize_path`, `merge_slashes`, design 4.1): `normalise_path` does what they do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from meshlint.model.matching import HttpRequest

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: header names and methods
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_DEFAULT_PORT = {"http": 80, "https": 443}


class RequestError(ValueError):
    """A request option that cannot be read (a usage error: the CLI exits 2 with the message)."""


@dataclass(frozen=True)
class TraceRequest:
    """What the client sends: to `host:port` (the address it dials), with these Host, method, path and
    headers. `tls`: the client itself speaks TLS (https://)."""

    scheme: str
    host: str
    port: int
    method: str
    path: str  # with its query string
    authority: str  # the Host header
    headers: tuple[tuple[str, str], ...] = ()  # lower-case names, in order; Host excluded
    grpc: bool = False

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path}"

    def http(self) -> HttpRequest:
        """The route table's view: pseudo-headers plus the headers, each with its values in order."""
        values: dict[str, tuple[str, ...]] = {":method": (self.method,), ":scheme": (self.scheme,),
                                              ":authority": (self.authority,), ":path": (self.path,)}
        for name, value in self.headers:
            values[name] = (*values.get(name, ()), value)
        return HttpRequest(self.path, values)

    def header(self, name: str) -> tuple[str, ...] | None:
        return self.http().header(name)

    def with_changes(self, *, authority: str | None = None, path: str | None = None, scheme: str | None = None,
                     port: int | None = None, add: tuple[tuple[str, str], ...] = (),
                     remove: tuple[str, ...] = ()) -> TraceRequest:
        """The request as the next hop receives it (a proxy's rewrites; added headers replace earlier ones)."""
        names = {n for n, _ in add} | set(remove)
        return replace(self, authority=self.authority if authority is None else authority,
                       path=self.path if path is None else path, scheme=scheme or self.scheme,
                       port=port or self.port, headers=tuple((n, v) for n, v in self.headers if n not in names) + add)


def parse_request(url: str, method: str | None = None, headers: list[str] | None = None,
                  grpc: str | None = None) -> TraceRequest:
    """The options as given on the command line; RequestError says what is wrong with one."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORT or not parts.hostname:
        raise RequestError(f"--url {url!r}: expected http://HOST[:PORT]/PATH (or https://)")
    try:
        port = _DEFAULT_PORT[parts.scheme] if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise RequestError(f"--url {url!r}: the port is not a number from 1 to 65535")
    host = parts.hostname
    authority = parts.netloc.rpartition("@")[2]
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    pairs = [_header(h) for h in headers or ()]
    for name, value in pairs:
        if name == "host":
            authority = value
    pairs = [(n, v) for n, v in pairs if n != "host"]
    is_grpc = grpc is not None
    if grpc is not None:
        path = _grpc_path(grpc, path)
        pairs = [*pairs, *(("content-type", "application/grpc"), ("te", "trailers"))]
    verb = method or ("POST" if is_grpc else "GET")
    if not _TOKEN.fullmatch(verb):
        raise RequestError(f"-X {verb!r}: not an HTTP method")
    return TraceRequest(parts.scheme, host, port, verb, path, authority, tuple(pairs), is_grpc)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not _TOKEN.fullmatch(name):
        raise RequestError(f"-H {text!r}: expected 'Name: value'")
    value = value.strip(" \t")
    if _BAD_VALUE.search(value):
        raise RequestError(f"-H {text!r}: the value holds a control character")
    return name.lower(), value


def _grpc_path(text: str, url_path: str) -> str:
    service, sep, method = text.partition("/")
    if not sep or not service or not method or "/" in method:
        raise RequestError(f"--grpc {text!r}: expected SERVICE/METHOD, e.g. shop.Payments/Charge")
    if url_path not in ("/", ""):
        raise RequestError(f"--grpc sets the path (/{service}/{method}); give --url without one")
    return f"/{service}/{method}"


def normalise_path(path: str, *, dots: bool = True, slashes: bool = True) -> str:
    """The path as a connection manager routes it: canonicalised (`dots`: Envoy's normalize_path), then
    repeated slashes merged (`slashes`: merge_slashes); the query string is left alone."""
    raw, sep, query = path.partition("?")
    if dots:
        raw = canonical_path(raw)
    if slashes:
        raw = re.sub("/{2,}", "/", raw)
    return raw + (sep + query if sep else "")


# What normalize_path does is Chromium's URL path canonicalisation (Envoy keeps a snapshot of it,
# source/common/chromium_url/url_canon_path.cc): escapes of unreserved characters are decoded, other
# escapes kept as written, a few characters escaped, backslashes made slashes, dot segments resolved.
_UNESCAPE = frozenset(b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~")
_ESCAPE = frozenset(b' "#<>?^`{|}\x7f') | frozenset(range(0x20)) | frozenset(range(0x80, 0x100))
_HEX = frozenset(b"0123456789abcdefABCDEF")


def canonical_path(raw: str) -> str:
    data = raw.encode("utf-8")
    out = bytearray(b"" if data.startswith((b"/", b"\\")) else b"/")
    i = 0
    while i < len(data):
        dot = _dot_length(data, i)
        if dot and out.endswith(b"/"):
            i = _after_dot(data, i + dot, out)
            continue
        byte = data[i]
        if dot:
            out += b"."
            i += dot
            continue
        if byte == 0x5C:  # backslash
            out += b"/"
        elif byte == 0x25 and i + 2 < len(data) and data[i + 1] in _HEX and data[i + 2] in _HEX:
            value = int(data[i + 1:i + 3], 16)
            out += bytes([value]) if value in _UNESCAPE else data[i:i + 3]
            i += 2
        elif byte in _ESCAPE:
            out += f"%{byte:02X}".encode()
        else:
            out.append(byte)
        i += 1
    return out.decode("ascii")  # every other byte was escaped


def _dot_length(data: bytes, i: int) -> int:
    """1 for `.`, 3 for `%2e` / `%2E`, 0 for anything else."""
    if data[i:i + 1] == b".":
        return 1
    return 3 if data[i:i + 3].lower() == b"%2e" else 0


def _after_dot(data: bytes, i: int, out: bytearray) -> int:
    """A dot right after a slash: `.` and `..` segments (followed by a slash or the end) are resolved;
    anything else keeps the dot. Returns where to go on reading."""
    if i == len(data) or data[i] in b"/\\":
        return i + (1 if i < len(data) else 0)  # `.`: stay in this folder
    second = _dot_length(data, i)
    if second and (i + second == len(data) or data[i + second] in b"/\\"):
        _up(out)
        return i + second + (1 if i + second < len(data) else 0)
    out += b"."
    return i


def _up(out: bytearray) -> None:
    """Back to the slash before the last segment (never above the root); `out` ends with a slash."""
    cut = out.rfind(b"/", 0, len(out) - 1)
    del out[max(cut, 0) + 1:]
