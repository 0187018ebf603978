"""Every limit a user can run into, and the choices they have, in one place, each with its reason. No
torch: the command line and the page's frame read these before any model is imported.
"""

# ---- the walkthrough's models ------------------------------------------------------------------------
MODELS = ("tiny", "smollm2")  # the alphabet model of the seed walkthrough; SmolLM2-135M on real text
REAL_PATTERNS = ("sliding", "gemma2", "gemma3", "full")  # imposed on SmolLM2: it has no SSM weights
REAL_DEFAULT_TEXT = "The capital of France is"
REAL_DEFAULT_WINDOW = 8  # small enough that a short text shows evictions, large enough for " Paris"

# ---- the tiny model's walkthrough (classroom) --------------------------------------------------------
MAX_PROMPT = 32  # letters: the page draws a column per token, and the tiny models learnt runs this long
MAX_NEW = 32  # tokens to generate: each is a pass of the stepper
MAX_WINDOW = 64  # W: twice the longest sequence, so every window the page can show is reachable
MAX_LAYERS = 6  # the shipped tiny weights cover 1..6 layers of each pattern

# ---- SmolLM2's walkthrough ---------------------------------------------------------------------------
# The trace keeps every head's weights for every query of every layer (30 layers x 9 heads x T^2 / 2
# numbers for a prompt of T tokens, about 4 MB of JSON at T = 64), and the page draws them.
REAL_MAX_TOKENS = 64
REAL_MAX_CHARS = 4000  # checked before tokenizing: more characters than this cannot be 64 tokens
REAL_MAX_WINDOW = 8192  # the context SmolLM2 was trained on: a larger window would never slide

# ---- the streaming experiment ------------------------------------------------------------------------
# The shipped English text has 15,781 tokens; the full policy's cache grows by 46 KB per token (30 layers
# x 2 x 3 heads x 64 x 4 B) and the recompute baseline costs W forwards per token, so longer runs take
# hours on a CPU without showing more than the first 16k do.
STREAM_MAX_TOKENS = 16384
# On the page, a live run on this machine's CPU: about 80 ms per token and policy on 2 cores, so 1,024
# tokens through three caches is about four minutes, the most a class should wait for.
PAGE_STREAM_MAX_TOKENS = 1024
# The recompute baseline runs a fresh W-token forward for every token: tokens x W is its work. On a busy
# 2-core machine 256 tokens at W = 200 (51,200) took about 3 minutes, so the page stops at that much.
PAGE_RECOMPUTE_MAX_WORK = 51_200

# ---- generate (a transformers checkpoint) ------------------------------------------------------------
# Positions of one run (prompt + new tokens): Mistral-7B-v0.1's max_position_embeddings, the context
# such checkpoints were trained for. Longer contexts are what `bench gpu` measures (up to 1M, on a GPU).
MAX_POSITIONS = 32_768
# New tokens: each keeps its row of logits (and `--json` prints it), and each is one eager step on
# this machine's device; longer generations are a benchmark's job, not a command's.
MAX_NEW_TOKENS = 4_096
# A prompt longer than this is prefilled in chunks of this many tokens unless --prefill-chunk says
# otherwise: the eager attention holds H x chunk x keys scores and their softmax, which for a
# 20,000-token prompt in one pass is 2 x H x 1.6 GB (float32), where 512-token chunks need at most
# 2 x H x 41 MB (`generate.memory_estimate`).
DEFAULT_PREFILL_CHUNK = 512
# `--json` prints new x vocabulary logits as text, about 20 bytes each: at most ~200 MB of output.
MAX_JSON_LOGITS = 10_000_000
# Runs covering more positions than this show a progress bar (tqdm, on stderr, only on a terminal).
PROGRESS_AFTER = 256

# ---- benchmarks --------------------------------------------------------------------------------------
MAX_REPEAT = 1000  # each repeat is one walkthrough (about 5 ms here): 1000 is seconds, not minutes
