"""Locate the data that ships with meshlint: the rule catalogue (`rules/`) and the schemas (`schemas/`).

In a wheel they live in `meshlint/_data/`; in a source checkout they are the top-level folders.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def data_dir(name: str) -> Path:
    packaged = Path(str(resources.files("meshlint"))) / "_data" / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name
