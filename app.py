"""Streamlit entry: `streamlit run app.py`. Page layout only; the views live in swa_demo/ui/."""

import streamlit as st

from swa_demo.ui import page
from swa_demo.ui.optional import optional_view

page.warm_up()  # the engine (torch) starts loading while the frame below is drawn
st.set_page_config(page_title="SWA · KV Cache", layout="wide")
lang = page.setup()

# on_change="rerun": only the open tab runs, so a step change never recomputes the other views.
classroom, receptive, realmodel, costs, fullscale = st.tabs(page.tab_labels(lang), key="tab",
                                                            on_change="rerun")
# The sidebar's settings drive the classroom and the receptive field; the other tabs have their own.
page.settings_sidebar(lang, active=classroom.open is not False or bool(receptive.open))
with classroom:
    if classroom.open is not False:
        optional_view("classroom", "classroom_view", lang)
with receptive:
    if receptive.open:
        optional_view("beyond", "receptive_view", lang)
with realmodel:
    if realmodel.open:
        optional_view("realmodel", "realmodel_view", lang)
with costs:
    if costs.open:
        optional_view("beyond", "costs_view", lang)
with fullscale:
    if fullscale.open:
        optional_view("fullscale", "fullscale_view", lang)
