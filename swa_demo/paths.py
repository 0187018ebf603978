"""Where the project's files are: the shipped assets, and the user's cache for converted models.

`ASSETS` is the assets folder (tiny weights, recorded benchmarks and stream runs, texts): in an installed
package `swa_demo/assets/` (pyproject.toml maps the repository's `assets/` there), in a checkout or an
editable install the repository's `assets/` itself.
`cache_dir()` is where a model converted on first use is kept: `$SWA_DEMO_CACHE` if set, else the
platform's user cache (`$XDG_CACHE_HOME/swa_demo`, `~/.cache/swa_demo`; `%LOCALAPPDATA%` on Windows,
`~/Library/Caches` on macOS). Nothing is created on import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _assets() -> Path:
    installed = Path(__file__).resolve().parent / "assets"
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "assets"


ASSETS = _assets()


def cache_dir() -> Path:
    """The user cache folder for converted models (not created here)."""
    if os.environ.get("SWA_DEMO_CACHE"):
        return Path(os.environ["SWA_DEMO_CACHE"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "swa_demo"
