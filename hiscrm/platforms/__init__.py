"""Platform adapters, one package each: `hiscrm.platforms.<name>` exposes `create(options) -> Platform`.

Adding a platform is adding a folder here; the worker finds it by name and needs no edits.
"""

from __future__ import annotations

import importlib
import pkgutil

from hiscrm.errors import HiscrmError
from hiscrm.platforms.base import Platform, PlatformOptions


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def load(name: str, options: PlatformOptions) -> Platform:
    if name not in available():
        raise HiscrmError(f"unknown platform {name!r}; this build has {', '.join(available()) or 'none'}")
    return importlib.import_module(f"{__name__}.{name}").create(options)
