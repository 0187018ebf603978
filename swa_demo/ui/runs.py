"""The models and their traces, cached across browser sessions.

Models are shared read-only (`st.cache_resource`): a forward pass never mutates a `Decoder`, and every
run builds its own caches (a window or a layer pattern imposed on SmolLM2 travels with them). Traces
are cached as plain JSON dicts (`st.cache_data`) and rebuilt with `trace.load`, so each session gets its
own copy.
"""

from __future__ import annotations

import streamlit as st

from ..limits import REAL_DEFAULT_WINDOW
from ..model import Decoder
from ..trace import Trace, load
from ..walkthrough import Settings, Source, continuation, model_for, real_source, run


@st.cache_resource(max_entries=24, show_spinner=False)
def model(layers: int, pattern: str, window: int) -> Decoder:
    """The shipped weights for this depth and layer pattern, run with window W (`WeightsError` if absent)."""
    return model_for(Settings(layers=layers, pattern=pattern, window=window))


@st.cache_resource(max_entries=1, show_spinner=False)
def smollm2() -> Source:
    """SmolLM2-135M and its tokenizer, loaded once per server (1.6-2.4 s once converted)."""
    return real_source()


@st.cache_data(max_entries=64, show_spinner=False)
def full_attention_continuation(text: str, new: int) -> list[str]:
    """What SmolLM2 generates from `text` with full attention in every layer, as it was trained. No
    layer has a window then, so W is not part of the key: changing W does not rerun it."""
    return continuation(Settings(prompt=text, new=new, window=REAL_DEFAULT_WINDOW, policy="ring",
                                 pattern="full", model="smollm2"), smollm2())


def ensure_smollm2(progress_text: str) -> None:
    """On a machine that has never converted SmolLM2, convert it now under a progress bar (about 30 s,
    once); afterwards a no-op. `interop.smollm2.ModelMissing` says what to install if it is absent."""
    from ..interop import smollm2 as source

    if source.is_converted():
        return
    bar = st.progress(0.0, text=progress_text)
    source.ensure_converted(progress=lambda f, message: bar.progress(min(f, 1.0), text=progress_text))
    bar.empty()


@st.cache_data(max_entries=128, show_spinner=False)
def trace_dict(prompt: str, new: int, window: int, layers: int, policy: str, pattern: str, sinks: int,
               chunk: int | None, model_name: str = "tiny") -> dict:
    s = Settings(prompt=prompt, new=new, window=window, layers=layers, policy=policy, pattern=pattern,
                 sinks=sinks, chunk=chunk, model=model_name)
    if model_name == "smollm2":
        return run(s, source=smollm2()).to_dict()
    return run(s, model(s.layers, s.pattern, s.window)).to_dict()


def trace_for(s: Settings) -> Trace:
    """The run's trace (settings already checked); raises `tiny.WeightsError` if weights are missing."""
    layers = 0 if s.model == "smollm2" else s.layers  # SmolLM2 has its own: the sidebar's does not count
    return load(trace_dict(s.prompt, s.new, s.window, layers, s.policy, s.pattern, s.sinks, s.chunk,
                           s.model))
