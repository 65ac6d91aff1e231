"""Find input files and read them as text, safely.

Folders are walked for *.yaml, *.yml, *.json and Terraform's *.tf, *.tfvars; hidden folders are skipped and
symlink loops are detected by device+inode. What is not App Mesh input is left out of a walk: folders of other
tools (`node_modules`, `vendor`, virtualenvs, `.terraform`, meshlint's own build output), what the config's
`exclude` globs name, a Helm chart's `templates/` (not YAML until rendered) and template files
(`*.yaml.template`, `*.yml.tpl`, ..., and `*.template` files whose text names App Mesh); the last two are
counted and said once, and a file named on the command line is always read. Reading refuses files over the
size limit and text that is not UTF-8; both are findings, never exceptions.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from meshlint.diagnostics import Finding, Position

SUFFIXES = (".yaml", ".yml", ".json", ".tf", ".tfvars")
TEMPLATE_SUFFIXES = (".template", ".tpl", ".tmpl", ".j2", ".jinja", ".gotmpl")  # after one of SUFFIXES
SKIPPED_FOLDERS = frozenset({"node_modules", "vendor", "site-packages", "__pycache__"})
BUILD_MANIFEST = "meshlint-manifest.json"  # a folder `meshlint build` wrote: output, never input
MAX_FILE_BYTES = 64 * 1024 * 1024
STDIN = "-"


class UsageError(Exception):
    """A problem with how meshlint was called (exit 2), not with the input."""


class NotReadable(Exception):
    """A path meshlint does not read: not a regular file, or larger than the limit. The message says which."""


class TooLarge(NotReadable):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{_size(size)}, over the {_size(limit)} limit")
        self.size = size


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path | None  # None for stdin
    display: str  # what diagnostics print
    explicit: bool  # named on the command line (not found by walking a folder)
    # inside the checked tree: a walked file always is (links out of it are not followed), a named one when
    # its real path lies inside the folder it was named in. Only such files' lines are ever printed.
    inside: bool = True


def special_kind(mode: int) -> str | None:
    """What a file of this mode is, when it is not a regular file (nor a folder): reading a FIFO or a
    terminal blocks until someone writes, a device may never end."""
    for test, what in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "not a regular file"


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path` (links followed), at most `limit` + 1 of them so that the
    caller can tell a file over the limit. Anything else is never opened for reading: NotReadable. OSError
    as usual (missing, no permission).

    Plain `os` calls, no file object: a buffered reader costs more than the read of a small file, and a
    folder walk reads thousands of them."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotReadable(f"{special_kind(mode) or 'a folder'}, not a regular file")
    # O_NONBLOCK: were the file swapped for a FIFO since the stat, opening it still returns at once, and the
    # fstat below refuses it before any read
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise NotReadable(f"{special_kind(opened.st_mode) or 'a folder'}, not a regular file")
        if opened.st_size > limit:
            raise TooLarge(opened.st_size, limit)
        os.set_blocking(fd, True)
        # the size is a hint (the file may grow or shrink while read): read to the end, or to limit + 1
        chunks = [os.read(fd, min(opened.st_size, limit) + 1)]
        got = len(chunks[0])
        while chunks[-1] and got <= limit:
            chunks.append(os.read(fd, min(limit + 1 - got, 1 << 20)))
            got += len(chunks[-1])
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def read_small_text(path: Path, what: str, limit: int) -> str:
    """The UTF-8 text of a file meshlint's options name (config, baseline, env file): a regular file of at
    most `limit` bytes. Anything else is a UsageError that says why; a FIFO or device is never read."""
    try:
        raw = read_regular(path, limit)
        if len(raw) > limit:
            raise TooLarge(len(raw), limit)
        return raw.decode("utf-8-sig")
    except NotReadable as err:
        raise UsageError(f"{path}: cannot read {what}: {err}") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read {what}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise UsageError(f"{path}: cannot read {what}: not UTF-8 (byte {err.start})") from None


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def display_path(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


Excluded = Callable[[str], bool]  # display path (folder or file) -> leave it out of a walk


@dataclass
class Walked:
    """What a folder walk left out on purpose, to be said once (see normalize's nothing-checked)."""

    templates: list[str] = field(default_factory=list)  # template files, by display path
    charts: dict[str, int] = field(default_factory=dict)  # Helm chart folder -> templates not read
    # Helm chart folder -> the App Mesh kinds its templates declare (names unknown until rendered)
    chart_kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)


def discover(paths: Iterable[str], exclude: Iterable[Path] = (), excluded: Excluded | None = None,
             ) -> tuple[list[InputFile], list[Finding], Walked]:
    """Expand paths into input files, sorted. Raises UsageError for a path that does not exist.

    `exclude`: folders never read (the build output); `excluded`: the config's and --exclude's globs."""
    skipped = {_identity(p) for p in exclude if p.exists()}
    files: dict[str, InputFile] = {}
    findings: list[Finding] = []
    walked = Walked()
    for raw in paths:
        if raw == STDIN:
            files[STDIN] = InputFile(None, "<stdin>", True)
            continue
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{raw}: no such file or folder")
        if path.is_dir():
            for found in _walk(path, skipped, excluded or (lambda _: False), findings, walked):
                files.setdefault(str(found), InputFile(found, display_path(found), False))
        else:  # named: followed wherever it points, but its lines are printed only from inside its folder
            files[str(path)] = InputFile(path, display_path(path), True, _within(path, path.parent))
    return sorted(files.values(), key=lambda f: f.display), findings, walked


def is_template_file(name: str) -> bool:
    """`mesh.yaml.template`, `vn.json.tpl`, ...: a YAML or JSON file that another tool renders first."""
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and f".{suffix}" in TEMPLATE_SUFFIXES and stem.endswith(SUFFIXES)


def _bare_template(name: str) -> bool:
    """`fullapp-appmesh.template`: a template suffix with no YAML or JSON one before it. Such a file may be App Mesh
    input rendered with envsubst, or anything else (a Jinja HTML page): `_names_app_mesh` tells."""
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and bool(stem) and f".{suffix}" in TEMPLATE_SUFFIXES and not stem.endswith(SUFFIXES)


_TEMPLATE_BYTES = 1024 * 1024  # a template read to see what it declares: larger ones are not looked into


def _template_text(path: Path) -> str | None:
    """The text of a template the walk looks into (a regular file of 1 MiB at most, links not followed)."""
    if path.is_symlink():
        return None
    try:
        raw = read_regular(path, _TEMPLATE_BYTES)
    except (OSError, NotReadable):
        return None
    return raw.decode("utf-8", "replace") if len(raw) <= _TEMPLATE_BYTES else None


def _names_app_mesh(path: Path) -> bool:
    """Whether a bare template's text names an App Mesh kind, CRD group or resource type."""
    from meshlint.load.templated import is_appmesh_text

    text = _template_text(path)
    return text is not None and is_appmesh_text(text)


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_dev, st.st_ino)


def _within(path: Path, folder: Path) -> bool:
    """Whether `path`, links resolved, lies inside `folder` (links resolved too)."""
    return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) == os.path.realpath(folder)


def _walk(root: Path, skipped: set[tuple[int, int]], excluded: Excluded, findings: list[Finding],
          walked: Walked) -> list[Path]:
    out: list[Path] = []
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            ident = _identity(folder)
        except OSError as err:
            findings.append(_unreadable(folder, err))
            continue
        if ident in skipped or (folder != root and _not_input(folder, excluded)):
            continue
        if ident in seen:
            findings.append(Finding("parse-error", "symlink loop: this folder was already read", display_path(folder),
                                    position=Position(1, 1), help="remove the link or point it elsewhere"))
            continue
        seen.add(ident)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            findings.append(_unreadable(folder, err))
            continue
        chart = any(e.name == "Chart.yaml" for e in entries)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError as err:
                findings.append(_unreadable(path, err))
                continue
            if (not is_dir and not entry.name.endswith(SUFFIXES) and not is_template_file(entry.name)
                    and not _bare_template(entry.name)):
                continue  # never read, whatever it is
            if entry.is_symlink() and not _within(path, root):
                findings.append(_not_followed(path, root, is_dir))
            elif is_dir and chart and entry.name == "templates":
                found = [f for f in path.rglob("*") if f.is_file()]
                walked.charts[display_path(folder)] = len(found)
                kinds = chart_kinds(found)
                if kinds:
                    walked.chart_kinds[display_path(folder)] = kinds
            elif is_dir:
                stack.append(path)
            elif excluded(display_path(path)):
                continue
            elif entry.name.endswith(SUFFIXES):
                kind = _special(entry)
                if kind is None:
                    out.append(path)
                else:
                    findings.append(Finding("ignored-input", f"{kind}, not a regular file: not read",
                                            display_path(path), position=Position(1, 1),
                                            help="meshlint reads regular files only; a pipe or device could "
                                            "block the run or never end"))
            elif is_template_file(entry.name) or _names_app_mesh(path):
                walked.templates.append(display_path(path))
    return out


_KIND = re.compile(r"^kind:[ \t]*[\"']?(\w+)", re.M)
_APPMESH_KINDS = ("Mesh", "VirtualService", "VirtualRouter", "VirtualNode", "VirtualGateway", "GatewayRoute")
_CANARY_KINDS = ("VirtualService", "VirtualRouter", "VirtualNode")  # what a Flagger canary makes for App Mesh


def chart_kinds(files: Iterable[Path]) -> tuple[str, ...]:
    """The App Mesh kinds a Helm chart's templates declare, from their text (_template_text): `kind:
    VirtualService` of appmesh.k8s.aws, or a Flagger `Canary`, which makes a virtual service, a router and nodes.
    Their names are unknown until the chart is rendered."""
    kinds: set[str] = set()
    for path in files:
        text = _template_text(path)
        if text is None:
            continue
        for found in _KIND.finditer(text):
            kind = found.group(1)
            if kind in _APPMESH_KINDS and "appmesh.k8s.aws" in text:
                kinds.add(kind)
            elif kind == "Canary" and "flagger.app" in text:
                kinds.update(_CANARY_KINDS)
    return tuple(sorted(kinds))


def _special(entry: os.DirEntry[str]) -> str | None:
    """What a walked entry is when it is not a regular file (links followed); None for a regular file or one
    that cannot be looked at (reading it then says why)."""
    try:
        return special_kind(entry.stat(follow_symlinks=True).st_mode)
    except OSError:
        return None


def _not_followed(path: Path, root: Path, is_dir: bool) -> Finding:
    # The target is not named: it lies outside what was asked to be checked, and may be anything.
    return Finding("ignored-input", f"a symlink to a {'folder' if is_dir else 'file'} outside "
                   f"{display_path(root)}: not followed", display_path(path), position=Position(1, 1),
                   help="a folder walk reads only what lies inside the folder checked; name the target on the "
                   "command line to check it")


def _not_input(folder: Path, excluded: Excluded) -> bool:
    """A folder a walk leaves out: another tool's (dependencies, a virtualenv), meshlint's build output, or
    one the `exclude` globs name."""
    return (folder.name in SKIPPED_FOLDERS or (folder / "pyvenv.cfg").is_file()
            or (folder / BUILD_MANIFEST).is_file() or excluded(display_path(folder)))


def _unreadable(path: Path, err: OSError) -> Finding:
    reason = "symlink loop" if err.errno == 40 else (err.strerror or str(err))
    return Finding("parse-error", f"cannot read: {reason}", display_path(path), position=Position(1, 1))


def read_text(file: InputFile) -> tuple[str | None, Finding | None]:
    """The file's text, or a finding that says why there is none."""
    try:
        if file.path is None:
            raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            raw = read_regular(file.path, MAX_FILE_BYTES)
    except TooLarge as err:
        return None, _too_large(file, err.size)
    except NotReadable as err:
        return None, Finding("parse-error", f"not read: {err}", file.display, position=Position(1, 1),
                             help="meshlint reads regular files; give this one's text on stdin instead: "
                             "meshlint check - < FILE")
    except OSError as err:
        if file.path is not None:
            return None, _unreadable(file.path, err)
        return None, Finding("parse-error", f"cannot read stdin: {err}", file.display, position=Position(1, 1))
    if len(raw) > MAX_FILE_BYTES:
        return None, _too_large(file, len(raw))
    return decode(raw, file.display)


def _too_large(file: InputFile, size: int) -> Finding:
    return Finding(
        "parse-error", f"file is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit",
        file.display, position=Position(1, 1), help="split the mesh into several files")


def _utf16(raw: bytes, display: str) -> Finding:
    """A UTF-16 file is an error when it holds App Mesh input; another tool's file (a Kubernetes manifest saved
    by Windows PowerShell) is only noted, as any file that is not App Mesh input is."""
    from meshlint.load.templated import is_appmesh_text, looks_like

    try:
        text = raw.decode("utf-16")
    except UnicodeDecodeError:
        text = None
    if text is None or is_appmesh_text(text):
        return Finding("parse-error", "file is UTF-16; meshlint reads UTF-8", display, position=Position(1, 1),
                       help="save the file as UTF-8")
    what, help_text = looks_like(text, display)
    return Finding("ignored-input", f"{what}: not read (UTF-16)", display, position=Position(1, 1), help=help_text)


def decode(raw: bytes, display: str) -> tuple[str | None, Finding | None]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, _utf16(raw, display)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        return None, Finding(
            "parse-error", f"not UTF-8: byte 0x{raw[err.start]:02x} cannot be decoded", display,
            position=Position(line, column), help="save the file as UTF-8")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return None, Finding("parse-error", "file contains NUL bytes; it is not text", display,
                             position=Position(line, 1))
    return text, None
