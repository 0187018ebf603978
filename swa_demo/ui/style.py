"""The page's colours and CSS, shared by the HTML panels (`html`, `overview`) and the Plotly figures.

Colours are Okabe-Ito (readable with every common colour-vision deficiency), and no state is told by
colour alone: cells carry glyphs (＋ ● ✕ ∅ ✓ –) and every picture has a legend.
"""

from __future__ import annotations

BLUE, ORANGE, VERMILLION, YELLOW = "#0072B2", "#E69F00", "#D55E00", "#F0E442"
PURPLE, GREEN, SKY = "#CC79A7", "#009E73", "#56B4E9"
GREY, PALE, WHITE, INK = "#A8A8A8", "#EEEEEE", "#FFFFFF", "#222222"
PEACH = "#F4C58A"  # a causal key outside the window
FONT = '"Source Sans Pro", "Source Sans 3", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'
# Cividis, light to dark in five steps: the attention weights' fill (text turns white on the dark half).
CIVIDIS = ("#FDE737", "#BCAF6F", "#7C7B78", "#3E4E6E", "#00204D")

CSS = f"""
<style>
/* the stepper stays in view while the panels under it scroll (a 1280 x 800 screen shows it beside the
   mask); at tablet widths its buttons keep their icons and drop their words */
[data-testid="stLayoutWrapper"]:has(> .st-key-stepper) {{ position:sticky; top:3.75rem; z-index:20; }}
.st-key-stepper {{ background:#fff; padding:4px 0 2px 0; border-bottom:1px solid #ddd;
                  container-type:inline-size; }}
.st-key-stepper kbd {{ display:none; }}  /* the keys are in the buttons' tooltip */
/* first and last show only their icons; their words stay for screen readers and tests */
.st-key-step_first [data-testid="stMarkdownContainer"],
.st-key-step_last [data-testid="stMarkdownContainer"] {{
  position:absolute; width:1px; height:1px; overflow:hidden; clip-path:inset(50%); white-space:nowrap; }}
@container (max-width: 640px) {{
  .st-key-stepper button [data-testid="stMarkdownContainer"] {{ display:none; }}
  .swa-step {{ font-size:20px !important; }}
  .st-key-stepper_row [data-testid="stHorizontalBlock"] {{ flex-wrap:wrap; }}
  .st-key-stepper_row [data-testid="stColumn"]:first-child {{ flex:1 1 100% !important;
                                                             width:100% !important; }}
}}
/* two panel columns side by side on a wide screen, one above the other on a narrow one */
.st-key-panels {{ container-type:inline-size; }}
@container (max-width: 760px) {{
  .st-key-panels [data-testid="stHorizontalBlock"] {{ flex-direction:column; }}
  .st-key-panels [data-testid="stColumn"] {{ width:100% !important; flex:1 1 auto !important; }}
}}
/* a title on one line leaves room for the stepper and the mask on a 1280 x 800 screen */
[data-testid="stMain"] h1 {{ font-size:2.1rem; padding-top:0.4rem; }}
/* the tab strip scrolls sideways instead of overflowing */
[role="tablist"] {{ overflow-x:auto; scrollbar-width:thin; }}
.swa-scroll {{ overflow-x:auto; max-width:100%; padding-bottom:4px; }}
.swa-strip {{ display:flex; flex-wrap:wrap; gap:6px; align-items:flex-end; margin:4px 0 10px 0; }}
.swa-tok {{ border:1px solid #999; border-radius:6px; min-width:42px; padding:4px 6px; text-align:center;
           background:#fff; color:{INK}; }}
.swa-tok .t {{ font-size:22px; font-weight:600; line-height:1.2; white-space:pre; }}
.swa-tok .p {{ font-size:13px; color:#555; }}
.swa-tok .o {{ font-size:11px; color:#555; }}
.swa-tok.gen {{ border-style:dashed; }}
.swa-tok.later {{ opacity:0.35; }}
.swa-tok.now {{ background:{BLUE}; color:#fff; border:2px solid {INK}; }}
.swa-tok.now .p, .swa-tok.now .o {{ color:#fff; }}
.swa-bar {{ width:3px; align-self:stretch; background:{INK}; margin:0 6px; border-radius:2px; }}
.swa-row-title {{ font-size:14px; color:#444; margin:6px 0 2px 0; }}
.swa-kv-row {{ display:flex; flex-wrap:wrap; gap:8px; align-items:flex-start; margin-bottom:8px; }}
.swa-col {{ display:flex; flex-direction:column; gap:4px; align-items:stretch; }}
.swa-slot {{ font-size:12px; color:#555; text-align:center; }}
.swa-kv {{ border:1px solid #777; border-radius:6px; padding:3px 8px; min-width:96px; text-align:center;
          color:{INK}; background:#fff; font-size:15px; line-height:1.3; }}
.swa-kv .sym {{ font-size:17px; font-weight:600; white-space:nowrap; }}
.swa-kv .meta {{ font-size:12px; }}
.swa-kv .badges {{ font-size:12px; font-weight:600; }}
.swa-kv.written {{ background:{BLUE}; color:#fff; }}
.swa-kv.kept {{ background:#D4D4D4; }}
.swa-kv.evicted {{ background:#FBE1D3; border:2px dashed {VERMILLION}; color:#7A2800; }}
.swa-kv.evicted .sym {{ text-decoration:line-through; text-decoration-thickness:2px; }}
.swa-kv.unstored {{ background:#F8F2A0; border:2px dashed #8A8200; }}
.swa-kv.read {{ border:3px solid {INK}; box-shadow:0 0 0 2px #fff inset; }}
.swa-kv.empty {{ border:1px dashed #aaa; color:#888; background:#fafafa; }}
.swa-compare {{ display:grid; gap:6px 8px; align-items:center; margin:4px 0 10px 0; }}
.swa-legend {{ display:flex; flex-wrap:wrap; gap:6px 14px; font-size:13px; margin:2px 0 8px 0; }}
.swa-legend .swa-kv {{ min-width:0; padding:0 8px; font-size:13px; }}
.swa-step {{ font-size:24px; font-weight:700; margin:2px 0 0 0; line-height:1.2; }}
.swa-step .of {{ font-size:15px; font-weight:400; color:#555; margin-left:10px; white-space:nowrap; }}
.swa-sub {{ font-size:17px; color:#333; margin:0 0 6px 0; }}
.swa-h {{ font-size:18px; font-weight:700; margin:14px 0 4px 0; }}
.swa-cap {{ font-size:14px; color:#555; margin:0 0 6px 0; }}
.swa-narration li {{ margin-bottom:2px; }}
.swa-note {{ border-left:4px solid {ORANGE}; background:#FFF6E5; padding:6px 10px; margin:8px 0;
            font-size:15px; }}
.swa-note .h {{ font-weight:700; margin-bottom:2px; }}
.swa-note ul {{ margin:0; padding-left:18px; }}
.swa-info {{ border-left:4px solid {SKY}; background:#EEF6FC; padding:6px 10px; margin:8px 0;
            font-size:15px; }}
/* grids: the mask, the weights, the SSM state, the timeline */
table.swa-grid {{ border-collapse:separate; border-spacing:2px; font-size:13px; margin:2px 0 6px 0; }}
table.swa-grid th {{ font-weight:400; color:#444; padding:0 3px; white-space:nowrap; text-align:center; }}
table.swa-grid th.row {{ text-align:right; }}
table.swa-grid td {{ min-width:26px; height:26px; text-align:center; padding:0 3px; color:{INK}; }}
table.swa-grid th .t {{ display:block; white-space:pre; }}
.m0 {{ background:{BLUE}; color:#fff !important; font-weight:700; }}
.m1 {{ background:{PEACH}; }}
.m2 {{ background:{PALE}; }}
td.cut {{ box-shadow:-3px 0 0 0 {VERMILLION}; }}
th.cutlabel {{ color:{VERMILLION} !important; font-weight:700 !important; text-align:left !important; }}
tr.seed td.m0 {{ background:repeating-linear-gradient(135deg, {ORANGE} 0 4px, #fff 4px 7px);
                color:{INK} !important; }}
tr.seed th {{ color:#8A5A00 !important; font-weight:700 !important; }}
.swa-heads {{ display:flex; flex-wrap:wrap; gap:6px 18px; }}
.swa-heads .head {{ font-size:13px; color:#444; text-align:center; }}
table.swa-w td {{ min-width:40px; font-variant-numeric:tabular-nums; }}
td.w-none {{ background:#fff; }}
.swa-probs {{ display:grid; grid-template-columns:max-content 1fr; gap:3px 10px; align-items:center;
             font-size:14px; margin:4px 0 8px 0; }}
.swa-probs .tok {{ font-weight:600; text-align:right; white-space:pre; }}
.swa-probs .track {{ display:flex; align-items:center; gap:8px; }}
.swa-probs .bar {{ height:16px; background:{GREY}; border:1px solid {INK}; min-width:1px; }}
.swa-probs .bar.chosen {{ background:{BLUE}; }}
table.swa-state td {{ min-width:7px; width:7px; height:18px; padding:0; }}
.swa-store {{ display:grid; grid-template-columns:max-content 1fr; gap:3px 12px; align-items:center;
             font-size:14px; margin:4px 0 6px 0; }}
.swa-store .name {{ grid-row:span 2; font-weight:600; }}
.swa-store .track {{ display:flex; align-items:center; gap:8px; white-space:nowrap; }}
.swa-store .bar {{ height:16px; border:1px solid {INK}; border-radius:2px; min-width:2px; }}
.swa-store .bar.pol, .swa-swatch.pol {{ background:{BLUE}; }}
.swa-store .bar.state, .swa-swatch.state {{ background:{GREEN}; }}
.swa-store .bar.all, .swa-swatch.all {{
  background:repeating-linear-gradient(135deg, {PURPLE} 0 4px, #fff 4px 7px); }}
.swa-swatch {{ display:inline-block; width:14px; height:14px; border:1px solid {INK}; vertical-align:-2px;
              margin:0 4px 0 0; }}
/* the whole run */
.swa-layers {{ display:flex; flex-wrap:wrap; gap:10px 22px; align-items:flex-start; }}
.swa-layer .h {{ font-weight:600; font-size:14px; margin-bottom:2px; }}
table.swa-tl {{ border-spacing:1px; }}
table.swa-tl td {{ min-width:22px; width:22px; height:22px; padding:0; font-size:13px; line-height:1; }}
table.swa-tl th.pass {{ writing-mode:vertical-rl; transform:rotate(180deg); font-size:12px; padding:2px 0;
                       height:auto; max-height:90px; }}
table.swa-tl th.row {{ font-size:12px; }}
table.swa-w th.sink {{ box-shadow:inset 0 -3px 0 {VERMILLION}; }}
table.swa-lstrip {{ border-spacing:1px 0; }}
table.swa-lstrip td {{ min-width:14px; width:14px; height:10px; font-size:8px; line-height:10px; }}
table.swa-lstrip th.row {{ font-size:10px; line-height:10px; padding:0 6px; white-space:nowrap;
                           text-align:right; }}
table.swa-lstrip th.pos {{ font-size:10px; font-weight:400; color:#555; }}
table.swa-lstrip tr.now th.row {{ background:{INK}; color:#fff !important; }}
table.swa-lstrip tr.now td {{ box-shadow:inset 0 2px 0 {INK}, inset 0 -2px 0 {INK}; }}
table.swa-lstrip td.ssm {{ font-size:11px; color:#555; text-align:left; }}
.t0 {{ background:#fff; }}
.t1 {{ background:{GREY}; }}
.t2 {{ background:{BLUE}; color:#fff !important; }}
.t3 {{ background:{VERMILLION}; color:#fff !important; }}
.t4 {{ background:{YELLOW}; }}
.swa-line {{ display:inline-block; width:26px; height:0; vertical-align:middle; margin-right:4px; }}
.swa-chart-frame {{ position:relative; width:100%; max-width:760px; }}
.swa-chart-frame::after {{ content:""; position:absolute; border:2px solid {INK}; background:rgba(0,0,0,0.06);
                          pointer-events:none; }}
img.swa-chart {{ width:100%; height:auto; display:block; }}
.swa-notes li {{ margin-bottom:4px; }}
</style>
"""
