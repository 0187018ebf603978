"""Streamlit views and Plotly figures of the classroom page (`app.py`). Nothing runs on import.

    i18n       the page's strings, zh / en
    state      settings, query parameters, error messages
    derive     what a trace says about a step: cell states, timeline, storage (pure)
    figures    Plotly figures, pure `(trace, ...) -> go.Figure`
    html       token strip, cache cells, step label
    runs       cached models and traces
    export     server-side PNGs (kaleido)
    classroom  the classroom view
    optional   loads the views other engineers own (beyond, fullscale) as extra tabs
"""
