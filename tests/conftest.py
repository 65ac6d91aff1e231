import os

# Rule crashes re-raise in tests instead of becoming internal-error diagnostics: bugs are never hidden.
os.environ["MESHLINT_RAISE"] = "1"

pytest_plugins = ["tests.support.fixtures"]
