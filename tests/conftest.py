import os
from pathlib import Path

# Rule crashes re-raise in tests instead of becoming internal-error diagnostics: bugs are never hidden.
os.environ["MESHLINT_RAISE"] = "1"

# Tests that start `python -m meshlint` in a subprocess import the tree under test, not whichever meshlint
# the interpreter has installed (an editable install of another checkout).
_TREE = str(Path(__file__).resolve().parent.parent)
if os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] != _TREE:
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_TREE, os.environ.get("PYTHONPATH")) if p)

pytest_plugins = ["tests.support.fixtures"]
