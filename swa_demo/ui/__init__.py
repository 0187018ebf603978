"""The Streamlit page (`app.py`) and its pieces. Nothing runs on import.

    page       the frame: session settings, language, sidebar, tab names (imports no torch)
    state      settings, query parameters, problems worded with the page's control names
    i18n       every string of the page, zh / en, and the one lookup `tr`
    show       the one way sentences reach Streamlit's Markdown elements: as text
    style      colours and CSS
    derive     what a trace says about a step: cells, mask, weights, timeline, bytes (pure)
    html       the step's HTML (tokens, cells, mask, weights, next token, state, storage)
    overview   the whole run's HTML (timeline, bytes per layer)
    classroom  the classroom view
    figures    Plotly figures of a step for slides; export renders them to PNG
    runs       cached models and traces
    optional   imports each tab's view when its tab is drawn
    beyond     the receptive-field and cost tabs; fullscale and gpu_figures the full-scale tab
"""
