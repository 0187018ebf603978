"""Load transformers checkpoints into the one decoder (Mistral first)."""

from .mistral import config_from_hf, load_checkpoint, state_from_hf

__all__ = ["config_from_hf", "load_checkpoint", "state_from_hf"]
