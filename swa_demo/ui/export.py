"""Server-side PNGs of the current figures, for slides (kaleido drives a headless Chromium).

The browser's own camera button (Plotly's modebar) needs none of this; this path is the fallback for
a whole step at once, and it fails with a short reason instead of an exception when Chromium or
kaleido is missing.
"""

from __future__ import annotations

import io
import tempfile
import threading
import zipfile
from pathlib import Path

import plotly.graph_objects as go

PNG_WIDTH = 1200  # px before scale: a slide's width
PNG_SCALE = 2


class ExportError(RuntimeError):
    """PNG export is unavailable here; the message says why in a few words."""


def png_zip(figures: dict[str, go.Figure], timeout: float = 60, start_margin: float = 15) -> bytes:
    """A zip of `<name>.png` for every figure, rendered in one browser session; `ExportError` if that
    takes longer than `timeout` plus `start_margin` seconds (Chromium's start-up)."""
    try:
        import kaleido
    except ImportError as err:
        raise ExportError(f"kaleido is not installed ({err})") from None
    with tempfile.TemporaryDirectory(prefix="swa_png_") as tmp:
        jobs = [{"fig": fig, "path": str(Path(tmp) / f"{name}.png"),
                 "opts": {"format": "png", "width": PNG_WIDTH, "height": fig.layout.height or 500,
                          "scale": PNG_SCALE}}
                for name, fig in figures.items()]
        _render(kaleido, jobs, timeout, start_margin)
        missing = [name for name in figures if not (Path(tmp) / f"{name}.png").is_file()]
        if missing:
            raise ExportError(f"no image came back for {', '.join(missing)}")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in figures:
                zf.write(Path(tmp) / f"{name}.png", f"{name}.png")
    return buf.getvalue()


def _render(kaleido, jobs: list[dict], timeout: float, start_margin: float) -> None:
    """Run kaleido in a worker thread and give up after `timeout + start_margin`: a browser that never
    answers must not hang the page's script run."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            # mathjax=False: no request for a CDN script on a machine that may be offline
            kaleido.write_fig_from_object_sync(jobs, kopts={"timeout": timeout, "mathjax": False})
        except BaseException as err:  # reported to the caller below
            failure.append(err)

    worker = threading.Thread(target=work, name="png-export", daemon=True)
    worker.start()
    worker.join(timeout + start_margin)
    if worker.is_alive():
        raise ExportError(f"Chromium did not answer within {timeout + start_margin:.0f} s")
    if failure:  # any browser failure means "not available here"
        err = failure[0]
        raise ExportError(f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}")
