"""Plug-in discovery: a plug-in registers itself in the module that defines it, and its
package imports every module it holds, so adding one is adding its module."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType


def import_all(package: str, skip: Iterable[str] = ()) -> list[ModuleType]:
    """Import each module of `package` but private ones (`_x`, `__main__`) and `skip`, in
    name order."""
    path = importlib.import_module(package).__path__
    names = sorted(m.name for m in pkgutil.iter_modules(path))
    return [
        importlib.import_module(f"{package}.{name}")
        for name in names
        if name not in skip and not name.startswith("_")
    ]
