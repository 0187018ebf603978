"""The one way the page puts sentences into Streamlit's markdown elements: as text, never as markup.

`st.error`, `st.info`, `st.caption` and friends read their body as Markdown, so a value echoed from the
address bar or a widget (`?policy=[click to fix](https://evil.example/login)`) would become a link, an
image, a heading or LaTeX. Every such call in `swa_demo/ui` goes through this module, which escapes
every ASCII punctuation character with a backslash (CommonMark renders `\\[` as `[`), so whatever the
text holds, it shows exactly as typed. tests/test_app.py checks that no other module calls those
elements directly.

Worked example: `text("[x](https://e.example)")` is `\\[x\\]\\(https\\:\\/\\/e\\.example\\)`, which renders as
`[x](https://e.example)` in plain letters: no link, and no bare-URL autolink either.
"""

from __future__ import annotations

import string

import streamlit as st

from .i18n import PLOTLY_LOCALE

_ESCAPE = {ord(c): "\\" + c for c in string.punctuation}


def text(s: object) -> str:
    """`s` as Markdown that renders as exactly these characters (line breaks become spaces)."""
    return " ".join(str(s).split("\n")).translate(_ESCAPE)


def _body(lines: str | list[str], heading: str | None) -> str:
    parts = [lines] if isinstance(lines, str) else list(lines)
    body = "\n\n".join(f"- {text(x)}" if len(parts) > 1 else text(x) for x in parts)
    return f"**{text(heading)}**\n\n{body}" if heading else body


def error(lines: str | list[str], heading: str | None = None) -> None:
    """An `st.error` that shows `lines` as text (one bullet each when there are several)."""
    st.error(_body(lines, heading))


def warning(lines: str | list[str]) -> None:
    st.warning(_body(lines, None))


def info(lines: str | list[str]) -> None:
    st.info(_body(lines, None))


def success(line: str) -> None:
    st.success(text(line))


def caption(line: str) -> None:
    st.caption(text(line))


def paragraph(line: str) -> None:
    st.markdown(text(line))


def heading(line: str) -> None:
    """A bold line above a panel (a `st.subheader` would add an anchor link)."""
    st.markdown(f"**{text(line)}**")


def plotly(fig, lang: str, **kwargs) -> None:
    """A Plotly chart as wide as its column, its toolbar in the page's language."""
    config = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
              **PLOTLY_LOCALE[lang]}
    st.plotly_chart(fig, width="stretch", config=config, **kwargs)


def generated_markdown(md: str) -> None:
    """Markdown the code builds from its own tables (the cost model's comparison), never from a value a
    user typed: the one place the page renders Markdown it did not escape."""
    st.markdown(md)
