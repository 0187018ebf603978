"""The tiny models and their traces, cached across browser sessions.

Models are shared read-only (`st.cache_resource`): a forward pass never mutates a `Decoder`, and every
run builds its own caches. Traces are cached as plain JSON dicts (`st.cache_data`) and rebuilt with
`trace.load`, so each session gets its own copy.
"""

from __future__ import annotations

import streamlit as st

from ..model import Decoder
from ..trace import Trace, load
from ..walkthrough import Settings, model_for, run


@st.cache_resource(max_entries=24, show_spinner=False)
def model(layers: int, pattern: str, window: int) -> Decoder:
    """The shipped weights for this depth and layer pattern, run with window W (`WeightsError` if absent)."""
    return model_for(Settings(layers=layers, pattern=pattern, window=window))


@st.cache_data(max_entries=128, show_spinner=False)
def trace_dict(prompt: str, new: int, window: int, layers: int, policy: str, pattern: str, sinks: int,
               chunk: int | None) -> dict:
    s = Settings(prompt=prompt, new=new, window=window, layers=layers, policy=policy, pattern=pattern,
                 sinks=sinks, chunk=chunk)
    return run(s, model(s.layers, s.pattern, s.window)).to_dict()


def trace_for(s: Settings) -> Trace:
    """The run's trace (settings already checked); raises `tiny.WeightsError` if weights are missing."""
    return load(trace_dict(s.prompt, s.new, s.window, s.layers, s.policy, s.pattern, s.sinks, s.chunk))
