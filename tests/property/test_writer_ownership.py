"""Whatever a user (or a stale manifest) does to an output folder between builds, a build never deletes or
changes what is not meshlint's, never touches what lies beside --out, and never hangs: it writes the new tree
or refuses with OutputError and leaves everything as it was.

Each example interleaves builds of small random trees with hostile acts: foreign files (also inside generated
folders), generated files edited or hard-linked elsewhere, FIFOs, manifest entries naming a user's file,
folders beside --out that look like leftovers.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path, PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from meshlint.compile import Artifact
from meshlint.emit.writer import MANIFEST, OutputError, write_tree
from tests.helpers import watchdog
from tests.property.test_robustness import WATCHDOG_S

PATHS = [f"{mesh}/{kind}/{name}.json" for mesh in ("a", "b") for kind in ("virtual-nodes", "gw")
         for name in ("x", "y")]
trees = st.dictionaries(st.sampled_from(PATHS), st.binary(max_size=8), max_size=5)
spots = st.sampled_from([*PATHS, "notes.txt", "a/notes.txt", "a/virtual-nodes/z.json", "c/d/e.txt"])
acts = st.one_of(
    st.tuples(st.just("build"), trees),
    st.tuples(st.just("foreign"), spots, st.binary(max_size=8)),
    st.tuples(st.just("edit"), st.sampled_from(PATHS), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("hardlink"), st.sampled_from(PATHS)),
    st.tuples(st.just("fifo"), spots),
    st.tuples(st.just("list"), spots),
    st.tuples(st.just("beside"), st.sampled_from(["tmp-0", "old-0", "build-0", "kept-0", "tmp-123456789abc"])),
)


class World:
    """The output folder, what in it and beside it is the user's, and what the last build wrote."""

    def __init__(self, root: Path) -> None:
        self.root, self.out, self.away = root, root / "out", root / "away"
        self.away.mkdir()
        self.users: dict[Path, tuple[object, ...]] = {}  # path -> what it must still be

    def state(self, path: Path) -> tuple[object, ...]:
        st_ = path.lstat()
        if stat.S_ISFIFO(st_.st_mode):
            return ("fifo", st_.st_ino)
        if stat.S_ISDIR(st_.st_mode):
            return ("dir", sorted(os.listdir(path)))
        return ("file", path.read_bytes(), st_.st_ino if st_.st_nlink > 1 else None)

    def mine(self, path: Path) -> None:
        self.users[path] = self.state(path)

    def free(self, rel: str) -> Path | None:
        """out/rel when nothing is there and its folders can be made; else None."""
        path = self.out / rel
        if os.path.lexists(path):
            return None
        for parent in PurePosixPath(rel).parents:
            folder = self.out / str(parent)
            if os.path.lexists(folder) and not stat.S_ISDIR(folder.lstat().st_mode):
                return None
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def act(self, act: tuple[object, ...]) -> None:
        kind, *args = act
        if kind == "build":
            self.build(args[0])  # type: ignore[arg-type]
            return
        if kind == "beside":
            path = self.root / f".out.meshlint-{args[0]}"
            if not path.exists():
                path.mkdir()
                (path / "data").write_text("the user's")
                self.mine(path / "data")
            return
        if not self.out.is_dir():
            return
        rel = str(args[0])
        path = self.out / rel
        if kind == "foreign" and (free := self.free(rel)) is not None:
            free.write_bytes(args[1])  # type: ignore[arg-type]
            self.mine(free)
        elif kind == "fifo" and (free := self.free(rel)) is not None:
            os.mkfifo(free)
            self.mine(free)
        elif kind == "edit" and path.is_file() and not path.is_symlink() and path not in self.users:
            path.write_bytes(path.read_bytes() + args[1])  # type: ignore[operator]
            self.mine(path)
        elif kind == "hardlink" and path.is_file() and path not in self.users:
            os.link(path, self.away / f"{len(os.listdir(self.away))}")
            self.mine(path)
        elif kind == "list" and path in self.users and (self.out / MANIFEST).is_file():
            data = json.loads((self.out / MANIFEST).read_text())
            data["files"][rel] = hashlib.sha256(b"not what is there").hexdigest()
            (self.out / MANIFEST).write_text(json.dumps(data))

    def build(self, tree: dict[str, bytes]) -> None:
        before = {path: self.state(path) for path in self.users}
        beside = sorted(os.listdir(self.root))
        with watchdog(WATCHDOG_S):
            try:
                write_tree(self.out, [Artifact(PurePosixPath(rel), data) for rel, data in tree.items()], "meshlint t")
            except OutputError:
                assert sorted(os.listdir(self.root)) == beside
            else:
                for rel, data in tree.items():
                    assert (self.out / rel).read_bytes() == data
                    if before.get(self.out / rel) == ("file", data, None):  # held those bytes: adopted
                        del self.users[self.out / rel], before[self.out / rel]
                assert [n for n in os.listdir(self.root) if n not in beside] in ([], ["out"])
        for path, was in before.items():
            if was[0] == "dir":
                continue
            assert os.path.lexists(path), f"{path} was deleted"
            assert self.state(path) == was, f"{path} changed"


@given(st.lists(acts, min_size=1, max_size=12))
def test_a_build_never_loses_what_is_not_meshlints(script: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        world = World(Path(folder))
        for act in script:
            world.act(act)
        world.build({PATHS[0]: b"last"})
