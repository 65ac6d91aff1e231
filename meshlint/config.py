"""Settings: `.meshlint.yaml` (found by walking up from the working folder) plus command-line options.

```yaml
rules:            # severity per rule: error | warning | info | off
  missing-tls: warning
select: [weights-sum, schema]      # run only these (default: all)
ignore: [unreachable-node]         # never report these
entry-points:                      # virtual nodes fed from outside the mesh (load balancer, cron, ...)
  - shop/frontend                  # <mesh>/<virtual node>, or just <virtual node> for any mesh
build:                             # `meshlint build` options, named as its flags; a flag given wins
  tracing: xray
  resolve: [color.shop.local=10.0.0.12]      # or a mapping: {color.shop.local: 10.0.0.12}
per-path-ignores:                  # glob (relative to the config file's folder) -> rules not reported there
  "legacy/**": [missing-tls]
options:                           # per-rule options, passed to the rule through RuleContext.options(slug)
  retry-amplification: {max-attempts: 10}     # RULE_OPTIONS lists the options rules read
```

The same keys may live under `[tool.meshlint]` in pyproject.toml. The config is found by walking up from
the first checked path (`find_config_for`); schemas/config.schema.json describes it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from meshlint.diagnostics import Severity, join_pointer, split_pointer
from meshlint.kinds import parse_resource_name, qualified_name
from meshlint.load.files import UsageError, read_small_text

CONFIG_NAMES = (".meshlint.yaml", ".meshlint.yml")
PYPROJECT = "pyproject.toml"
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # far above any real config or pyproject.toml; /dev/zero never ends
_KEYS = ("rules", "select", "ignore", "entry-points", "build", "per-path-ignores", "options", "exclude",
         "fragments", "external")

# `build:` keys (= the `meshlint build` flags without `--`) -> the CompileOptions field each one sets
BUILD_OPTIONS = {
    "admin-port": "admin_port", "admin-address": "admin_address", "tracing": "tracing",
    "tracing-address": "tracing_address", "stats-sink": "stats_sink", "stats-sink-address": "stats_sink_address",
    "no-stats-tags": "stats_tags", "resolve": "resolve", "cert-map": "cert_map", "ca-map": "ca_map",
    "sds-socket": "sds_socket_path", "appmesh-defaults": "appmesh_defaults",
    "xds": "xds", "xds-directory": "xds_directory", "emit": "emit", "envoy-image": "envoy_image",
    "init-image": "init_image", "egress-ignored-ip": "egress_ignored_ips",
    "egress-ignored-port": "egress_ignored_ports", "ecs-config-uri": "ecs_config_uri",
    "xray-sampling-rate": "xray_sampling_rate", "xray-fixed-target": "xray_fixed_target",
    "xray-sampling-rule-manifest": "xray_sampling_rule_manifest", "xray-segment-name": "xray_segment_name",
    "no-listener-stats-tags": "listener_stats_tags", "no-mesh-stats-tags": "mesh_stats_tags",
    "no-appmesh-metrics": "appmesh_metrics",
}
_BOOLEANS = ("xds",)
_LISTS = ("emit", "egress-ignored-ip", "egress-ignored-port")  # repeatable flags; a list (or one value) in config
_NEGATED = ("no-stats-tags", "no-listener-stats-tags", "no-mesh-stats-tags", "no-appmesh-metrics")
# The options rules read (RuleContext.options): rule -> option -> (is a value valid, what is expected). Checked
# here so that a typo fails with its position; options of other rules pass through unchecked.
RULE_OPTIONS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "retry-amplification": {"max-attempts": (lambda v: type(v) is int and v >= 1, "a whole number of at least 1")},
}
_PAIRS = {  # repeatable options: the KEY=VALUE form and an example
    "resolve": ("HOST=IP", "color.shop.local=10.0.0.12"),
    "cert-map": ("ARN=CHAIN,KEY", "arn:aws:acm:us-east-1:111122223333:certificate/abc=/certs/chain.pem,/certs/key.pem"),
    "ca-map": ("ARN=CAFILE", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/abc=/certs/ca.pem"),
}


# `select` chooses among the checks; these report input meshlint could not read or that App Mesh rejects,
# without which every other rule is silent about it. Only `ignore` or `off` switches them off (with a note).
ALWAYS_SELECTED = frozenset({"parse-error", "schema"})


ANY_MESH = "\x00any"  # in `external`: a mesh no App Mesh name can be


@dataclass(frozen=True)
class Settings:
    severities: Mapping[str, Severity | None] = field(default_factory=dict)  # None: rule switched off
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    entry_points: frozenset[str] = frozenset()
    build: Mapping[str, Any] = field(default_factory=dict)  # CompileOptions field -> value, from `build:`
    source: Path | None = None
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = ()  # (glob relative to the config folder, rules)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # rule slug -> its `options:`
    exclude: tuple[str, ...] = ()  # gitignore-style globs, relative to the config folder: left out of walks
    cli_exclude: tuple[str, ...] = ()  # the same from --exclude, relative to the current folder
    fragments: tuple[tuple[str, str], ...] = ()  # (glob relative to the config folder, "Kind:MESH/{stem}")
    # (kind, mesh, name) defined outside the input; the mesh ANY_MESH: defined in some mesh (a template file)
    external: frozenset[tuple[str, str, str]] = frozenset()
    # kinds a Helm chart the walk left out declares, under names unknown until it is rendered: a name of such a
    # kind that the input lacks may be one of them (never set by the config file)
    unrendered: frozenset[str] = frozenset()

    def excluded(self, path: str) -> bool:
        """Whether a walk leaves out `path` (a display path, relative to the current folder)."""
        return (any(_ignore_match(p, _relative_to_config(path, self.source)) for p in self.exclude)
                or any(_ignore_match(p, path) for p in self.cli_exclude))

    def fragment_name(self, path: str) -> str | None:
        """`Kind:MESH/NAME` for a spec-only fragment file the config names (`{stem}`: the file name without
        its suffixes), else None."""
        rel = _relative_to_config(path, self.source)
        for pattern, template in self.fragments:
            if _ignore_match(pattern, rel):
                return template.replace("{stem}", Path(path).name.split(".")[0])
        return None

    def ignored_at(self, slug: str, path: str) -> bool:
        """True when `per-path-ignores` switches `slug` off for `path` (a display path, relative to cwd)."""
        if not self.per_path_ignores:
            return False
        rel = _relative_to_config(path, self.source)
        return any(slug in rules and _glob_match(pattern, rel) for pattern, rules in self.per_path_ignores)

    def enabled(self, slug: str) -> bool:
        if slug in self.ignore or self.severities.get(slug, Severity.INFO) is None:
            return False
        return self.select is None or slug in self.select or slug in ALWAYS_SELECTED

    def silenced(self) -> list[str]:
        """The rules of ALWAYS_SELECTED that `ignore` or `off` switched off: input meshlint could not read
        then passes without a word, so the CLI says so on every run."""
        return [slug for slug in sorted(ALWAYS_SELECTED) if not self.enabled(slug)]

    def severity(self, slug: str, default: Severity) -> Severity:
        configured = self.severities.get(slug)
        return configured if configured is not None else default

    def is_entry_point(self, mesh: str, node: str) -> bool:
        return f"{mesh}/{node}" in self.entry_points or node in self.entry_points

    def with_cli(self, select: Iterable[str] | None, ignore: Iterable[str] | None) -> Settings:
        out = self
        if select:
            out = replace(out, select=frozenset(select))
        if ignore:
            out = replace(out, ignore=out.ignore | frozenset(ignore))
        return out


def find_config(start: Path) -> Path | None:
    """The nearest .meshlint.yaml (or .yml), or pyproject.toml with a [tool.meshlint] table, from `start` up."""
    folder = start.resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            path = candidate / name
            if path.is_file():
                return path
        if _has_tool_table(candidate / PYPROJECT):
            return candidate / PYPROJECT
    return None


def find_config_for(paths: Iterable[str]) -> Path | None:
    """The config that governs the checked paths: found walking up from the first one that exists on disk
    (stdin and no paths: the current folder)."""
    for raw in paths:
        if raw != "-" and Path(raw).exists():
            return find_config(Path(raw))
    return find_config(Path.cwd())


def _has_tool_table(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        tool = _read_toml(path).get("tool")
    except UsageError:
        return True  # a broken pyproject.toml that mentions meshlint: let load_settings report it
    return isinstance(tool, dict) and "meshlint" in tool


def load_settings(path: Path | None, known_rules: Iterable[str]) -> Settings:
    """Read a config file strictly. Every problem is a UsageError naming file:line:col."""
    if path is None:
        return Settings()
    if path.name == PYPROJECT:
        tool = _read_toml(path).get("tool", {})
        if not isinstance(tool, dict):
            raise UsageError(f"{path}: [tool] must be a table")
        return _settings_from(tool.get("meshlint", {}), _TomlLocator(path), known_rules, path)
    from meshlint.load.parse import parse_text

    docs, problems = parse_text(read_small_text(path, "config", MAX_CONFIG_BYTES), record=True)
    if problems:
        p = problems[0]
        raise UsageError(f"{path}:{p.position.line}:{p.position.column}: {p.message}")
    data = docs[0].data if docs else {}
    where = _Locator(path, docs[0].source_map if docs else None)
    if data is None:
        return Settings(source=path)
    return _settings_from(data, where, known_rules, path)


def _settings_from(data: Any, where: _Locator, known_rules: Iterable[str], path: Path) -> Settings:
    if not isinstance(data, dict):
        raise where.error("", "config must be a mapping")
    known = sorted(known_rules)
    for key in data:
        if key not in _KEYS:
            raise where.error(f"/{key}", f"unknown key {key!r}{_suggest(key, _KEYS)}", at_key=True)
    severities: dict[str, Severity | None] = {}
    for written, level in (_mapping(data, "rules", where)).items():
        slug = _known_rule(written, known, where, f"/rules/{written}")
        if level in ("off", False):  # YAML 1.1 reads an unquoted off as false
            severities[slug] = None
        else:
            try:
                severities[slug] = Severity.parse(str(level))
            except ValueError as err:
                raise where.error(f"/rules/{written}", f"{err}; or off") from None
    select = _rule_list(data, "select", known, where)
    if select == []:
        raise where.error("/select", "select is empty: no rule would run; remove it to run every rule")
    ignore = _rule_list(data, "ignore", known, where) or []
    entries = _string_list(data, "entry-points", where)
    return Settings(
        severities=severities,
        select=frozenset(select) if select is not None else None,
        ignore=frozenset(ignore),
        entry_points=frozenset(entries or ()),
        build=_build_section(data, where),
        source=path,
        per_path_ignores=_per_path_ignores(data, known, where),
        options=_rule_options(data, known, where),
        exclude=tuple(_string_list(data, "exclude", where) or ()),
        fragments=_fragments(data, where),
        external=_external(data, where),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    text = read_small_text(path, "config", MAX_CONFIG_BYTES)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: {err}") from None
    except ValueError as err:  # tomllib converts integers with int(): over 4,300 digits it raises
        raise UsageError(f"{path}: not valid TOML: {str(err).split(':')[0]}") from None
    except RecursionError:
        raise UsageError(f"{path}: not valid TOML: nested too deeply") from None


def _per_path_ignores(data: dict[str, Any], known: list[str],
                      where: _Locator) -> tuple[tuple[str, frozenset[str]], ...]:
    section = data.get("per-path-ignores") or {}
    if not isinstance(section, dict):
        raise where.error("/per-path-ignores", "per-path-ignores must be a mapping of glob to a list of rules")
    out = []
    for pattern, rules in section.items():
        pointer = join_pointer("/per-path-ignores", str(pattern))
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise where.error(pointer, f"per-path-ignores {pattern!r} must be a list of rule names")
        names = frozenset(_known_rule(slug, known, where, join_pointer(pointer, i)) for i, slug in enumerate(rules))
        out.append((str(pattern), names))
    return tuple(out)


def _rule_options(data: dict[str, Any], known: list[str], where: _Locator) -> dict[str, dict[str, Any]]:
    section = data.get("options") or {}
    if not isinstance(section, dict):
        raise where.error("/options", "options must be a mapping of rule name to a mapping of its options")
    out: dict[str, dict[str, Any]] = {}
    for written, values in section.items():
        pointer = join_pointer("/options", str(written))
        slug = _known_rule(written, known, where, pointer)
        if not isinstance(values, dict):
            raise where.error(pointer, f"options of {slug} must be a mapping")
        for name, value in values.items() if slug in RULE_OPTIONS else ():
            _rule_option(slug, str(name), value, where, join_pointer(pointer, str(name)))
        out[slug] = dict(values)
    return out


def _rule_option(slug: str, name: str, value: Any, where: _Locator, pointer: str) -> None:
    known = RULE_OPTIONS[slug]
    if name not in known:
        raise where.error(pointer, f"unknown option {name!r} of {slug}{_suggest(name, known)}", at_key=True)
    valid, expected = known[name]
    if not valid(value):
        raise where.error(pointer, f"option {name} of {slug} must be {expected}, not {value!r}")


def _relative_to_config(path: str, config: Path | None) -> str:
    import os

    if config is None:
        return path
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, config.parent.resolve())
    return path if rel.startswith("..") else Path(rel).as_posix()


def _fragments(data: dict[str, Any], where: _Locator) -> tuple[tuple[str, str], ...]:
    section = data.get("fragments") or {}
    if not isinstance(section, dict):
        raise where.error("/fragments", "fragments must be a mapping of glob to KIND:MESH/NAME ({stem} for the "
                                        "file name), e.g. 'mesh/*-vn.json': VirtualNode:color-mesh/{stem}")
    out = []
    for pattern, template in section.items():
        try:
            parse_resource_name(str(template).replace("{stem}", "stem"))
        except ValueError as err:
            raise where.error(join_pointer("/fragments", str(pattern)), str(err)) from None
        out.append((str(pattern), str(template)))
    return tuple(out)


def _external(data: dict[str, Any], where: _Locator) -> frozenset[tuple[str, str, str]]:
    out = set()
    for i, text in enumerate(_string_list(data, "external", where) or ()):
        try:
            kind, names = parse_resource_name(text)
        except ValueError as err:
            raise where.error(f"/external/{i}", f"{err} (a resource defined outside the checked files)") from None
        out.add((kind, names["meshName"], qualified_name(kind, names)))
    return frozenset(out)


def _ignore_match(pattern: str, path: str) -> bool:
    """gitignore semantics: a pattern with no `/` but a trailing one matches a name at any depth, a leading `/`
    anchors it at the base folder; `**` crosses folders."""
    core = pattern.rstrip("/")
    if core.startswith("/"):
        return _glob_match(core[1:], path)
    return _glob_match(core if "/" in core else f"**/{core}", path)


def _glob_match(pattern: str, path: str) -> bool:
    """gitignore-like globs: `*` and `?` stay inside one folder, `**` crosses folders; a pattern that names a
    folder (`legacy/` or `legacy`) matches everything below it."""
    import re

    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            out.append({"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i])))
            i += 1
    return re.fullmatch("".join(out).rstrip("/") + "(?:/.*)?", path) is not None


class _Locator:
    def __init__(self, path: Path, source_map: Any) -> None:
        self.path = path
        self.source_map = source_map

    def error(self, pointer: str, message: str, at_key: bool = False) -> UsageError:
        line, column = 1, 1
        if self.source_map is not None:
            table = self.source_map.keys if at_key else self.source_map.values
            span = table.get(pointer) or self.source_map.values.get(pointer)
            if span:
                line, column = span[0], span[1]
        return UsageError(f"{self.path}:{line}:{column}: {message}")


class _TomlLocator(_Locator):
    """tomllib keeps no positions, so a TOML problem names its key path instead: `[tool.meshlint] rules.x`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, None)

    def error(self, pointer: str, message: str, at_key: bool = False) -> UsageError:
        keys = ".".join(split_pointer(pointer))
        return UsageError(f"{self.path}: [tool.meshlint]{' ' + keys if keys else ''}: {message}")


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _known_rule(slug: Any, known: list[str], where: _Locator, pointer: str) -> str:
    """The slug in force for a rule named in the config (a removed rule names its successor)."""
    from meshlint.catalogue import canonical

    if slug in known:
        return str(slug)
    if isinstance(slug, str) and canonical(slug) in known:
        return canonical(slug)
    raise where.error(pointer, f"unknown rule {slug!r}{_suggest(str(slug), known)}", at_key=True)


def _mapping(data: dict[str, Any], key: str, where: _Locator) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise where.error(f"/{key}", f"{key} must be a mapping of rule name to severity")
    return value


def _string_list(data: dict[str, Any], key: str, where: _Locator) -> list[str] | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(f"/{key}", f"{key} must be a list of strings")
    return value


def _rule_list(data: dict[str, Any], key: str, known: list[str], where: _Locator) -> list[str] | None:
    values = _string_list(data, key, where)
    if values is None:
        return None
    return [_known_rule(slug, known, where, f"/{key}/{i}") for i, slug in enumerate(values)]


def _build_section(data: dict[str, Any], where: _Locator) -> dict[str, Any]:
    section = data.get("build") or {}
    if not isinstance(section, dict):
        raise where.error("/build", "build must be a mapping of option name to value")
    options: dict[str, Any] = {}
    for key, value in section.items():
        pointer = join_pointer("/build", str(key))
        if key not in BUILD_OPTIONS:
            raise where.error(pointer, f"unknown build option {key!r}{_suggest(str(key), BUILD_OPTIONS)}",
                              at_key=True)
        try:
            name, options[name] = build_option(key, value, where.path.parent)
        except ValueError as err:
            raise where.error(pointer, f"build.{key}: {err}") from None
    return options


def build_option(key: str, value: Any, base: Path | None = None) -> tuple[str, Any]:
    """A `build` option as a flag or config value gives it -> (CompileOptions field, value).

    Checks shape only (a number, a string, KEY=VALUE pairs); CompileOptions judges the values. The X-Ray
    sampling rule manifest is a file, read here (relative to `base`, the config file's folder, or the working
    folder for a flag) so that its content can be checked and inlined. ValueError when the shape is wrong.
    """
    name = BUILD_OPTIONS[key]
    if key in _PAIRS:
        return name, _pairs(key, value)
    if key in _NEGATED or key in _BOOLEANS:
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return name, value if key in _BOOLEANS else not value
    if key in _LISTS:
        return name, _list(key, value)
    if key in ("admin-port", "xray-fixed-target"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not a {'port' if key == 'admin-port' else 'whole'} number")
        return name, value
    if key == "xray-sampling-rate":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{value!r} is not a number")
        return name, float(value)
    if key == "xray-sampling-rule-manifest" and isinstance(value, str) and value:
        return name, _read_text(Path(value) if base is None else base / value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a non-empty string")
    return name, value


def _list(key: str, value: Any) -> tuple[Any, ...]:
    items = value if isinstance(value, list) else [value]
    want_int = key == "egress-ignored-port"
    for item in items:
        if want_int and (isinstance(item, bool) or not isinstance(item, int)):
            raise ValueError(f"{item!r} is not a port number")
        if not want_int and (not isinstance(item, str) or not item):
            raise ValueError(f"{item!r} is not a non-empty string")
    return tuple(dict.fromkeys(items))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from None


def _pairs(key: str, value: Any) -> dict[str, Any]:
    form, example = _PAIRS[key]
    if isinstance(value, dict):
        value = [f"{k}={v}" if isinstance(v, str) else v for k, v in value.items()]
    if not isinstance(value, list):
        raise ValueError(f"expected a list of {form} (or a mapping), e.g. {example}")
    pairs: dict[str, Any] = {}
    for item in value:
        left, _, right = str(item).partition("=")
        first, comma, second = right.partition(",")
        if (not isinstance(item, str) or not left.strip() or not right.strip()
                or (key != "resolve" and not left.startswith("arn:"))
                or (key == "cert-map" and not (comma and first.strip() and second.strip()))):
            raise ValueError(f"{item!r} is not {form}, e.g. {example}")
        pairs[left] = (first, second) if key == "cert-map" else right
    return pairs


def parse_rule_names(text: str | None, known: Iterable[str]) -> list[str] | None:
    """`--select a,b` -> ["a", "b"]; unknown names are a UsageError with a suggestion."""
    if not text:
        return None
    from meshlint.catalogue import canonical

    names = [canonical(n.strip()) for n in text.split(",") if n.strip()]
    known_list = sorted(known)
    for name in names:
        if name not in known_list:
            raise UsageError(f"unknown rule {name!r}{_suggest(name, known_list)} (see `meshlint rules`)")
    return names
