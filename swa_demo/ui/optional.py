"""Each tab's view, imported only when its tab is drawn.

The frame of the page draws without them (and without torch, which they import), and a build without
one of them (or with one that fails to import) still serves the other tabs.
"""

from __future__ import annotations

import importlib
import logging

from . import show
from .i18n import tr

log = logging.getLogger(__name__)


def optional_view(module: str, function: str, lang: str) -> None:
    """Call `swa_demo.ui.<module>.<function>(lang)`, or say the view is not in this build."""
    name = f"swa_demo.ui.{module}"
    try:
        view = getattr(importlib.import_module(name), function)
    except (ImportError, AttributeError) as err:
        show.info(tr(lang, "not_in_build", module=f"{name}.{function}: {err}"))
        return
    try:
        view(lang)
    except Exception as err:  # the page never shows a traceback
        log.exception("%s.%s failed", name, function)
        show.error(tr(lang, "err_internal", kind=type(err).__name__, msg=str(err)[:300]))
