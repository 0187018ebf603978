"""transformers config.json files read into cost shapes: the published files (`published_configs.py`)
give the presets' shapes, each family's layer pattern comes out as transformers builds it, and a
malformed file is one problem."""

import dataclasses
import json

import pytest
from published_configs import (
    GEMMA2_9B,
    GEMMA3_1B,
    GEMMA3_27B,
    GEMMA3_270M,
    JAMBA,
    LLAMA_2_7B,
    MISTRAL_7B,
    MIXTRAL_8X7B,
    PHI3_MINI,
    QWEN2_7B,
)

from swa_demo import costs, hf_config
from swa_demo.config import FULL, MAMBA, SLIDING
from swa_demo.validate import Invalid


@pytest.mark.parametrize("preset,published", [
    ("mistral-7b", MISTRAL_7B), ("llama-2-7b", LLAMA_2_7B), ("mixtral-8x7b", MIXTRAL_8X7B),
    ("gemma2-9b", GEMMA2_9B), ("gemma3-27b", GEMMA3_27B), ("jamba-v0.1", JAMBA)])
def test_the_published_file_gives_the_presets_shape(preset, published):
    s = hf_config.shape_from_config(published, preset)
    want = costs.shape(preset)
    assert dataclasses.replace(s, source=want.source) == want


def test_qwen2_slides_only_when_asked_and_only_from_max_window_layers_on():
    assert set(hf_config.shape_from_config(QWEN2_7B).layer_types) == {FULL}
    # the same file with the window turned on from layer 21: transformers slides layers 21..27
    s = hf_config.shape_from_config(QWEN2_7B | {"use_sliding_window": True, "max_window_layers": 21})
    assert s.layer_types == (FULL,) * 21 + (SLIDING,) * 7 and s.window == 131072


def test_gemma3_global_every_sixth_layer_from_the_pattern_or_the_list():
    one_b = hf_config.shape_from_config(GEMMA3_1B, "gemma-3-1b")
    assert [i for i, k in enumerate(one_b.layer_types) if k == FULL] == [5, 11, 17, 23]
    assert one_b.window == 512 and one_b.vocab == 262144
    small = hf_config.shape_from_config(GEMMA3_270M, "gemma-3-270m")
    assert small.layer_types == tuple(GEMMA3_270M["layer_types"]) and small.tied_embeddings
    # Google's counts: 1B and 270M (170M of them embeddings), to 2%
    assert costs.parameters(one_b)["total"] / 1e9 == pytest.approx(1.0, rel=0.02)
    assert costs.parameters(small)["total"] / 1e6 == pytest.approx(270, rel=0.02)


def test_phi3_mini_slides_every_layer():
    s = hf_config.shape_from_config(PHI3_MINI, "phi-3-mini")
    assert s.layer_types == (SLIDING,) * 32 and s.window == 2047 and s.trained_context == 4096
    assert costs.parameters(s)["total"] / 1e9 == pytest.approx(3.8, rel=0.02)  # "3.8B" in its card


def test_jamba_has_mamba_layers_and_experts_every_other_layer():
    s = hf_config.shape_from_config(JAMBA)
    assert s.count(MAMBA) == 28 and [i for i, k in enumerate(s.layer_types) if k == FULL] == [4, 12, 20, 28]
    assert s.moe_layers == tuple(range(1, 32, 2)) and s.ssm_dims == (8192, 16, 4, 256)
    assert hf_config.shape_from_config(JAMBA | {"mamba_dt_rank": "auto"}).dt_rank == 256  # ceil(4096 / 16)


def test_a_file_is_named_after_its_folder(tmp_path):
    folder = tmp_path / "Mistral-7B-v0.1"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(MISTRAL_7B))
    (tmp_path / "mixtral.json").write_text(json.dumps(MIXTRAL_8X7B))
    assert hf_config.load(folder / "config.json").name == "Mistral-7B-v0.1"
    assert hf_config.load(tmp_path / "mixtral.json").name == "mixtral"


@pytest.mark.parametrize("text,code,fragment", [
    ("{not json", "not_json", "is not JSON"),
    (b"\xff\xfe", "not_json", "is not JSON"),
    ("[1, 2]", "not_object", "must hold a JSON object, not a list"),
    (json.dumps({k: v for k, v in MISTRAL_7B.items() if k != "hidden_size"}), "missing_key", "'hidden_size'"),
    (json.dumps(MISTRAL_7B | {"hidden_size": "4096"}), "not_whole", "'hidden_size' must be a whole number"),
    (json.dumps(MISTRAL_7B | {"num_hidden_layers": True}), "not_whole", "got True"),
    (json.dumps(MISTRAL_7B | {"intermediate_size": 14336.5}), "not_whole", "14336.5"),
    (json.dumps(MISTRAL_7B | {"num_hidden_layers": 0}), "key_range", "between 1 and 4,096, got 0"),
    (json.dumps(MISTRAL_7B | {"num_hidden_layers": 10 ** 12}), "key_range", "'num_hidden_layers'"),
    (json.dumps(MISTRAL_7B | {"num_key_value_heads": 64}), "key_range", "'num_key_value_heads'"),
    (json.dumps(MISTRAL_7B | {"model_type": "gpt2"}), "model_type", "model_type 'gpt2' is not one"),
    (json.dumps({k: v for k, v in MISTRAL_7B.items() if k != "model_type"}), "missing_key", "'model_type'"),
    (json.dumps(GEMMA3_27B | {"text_config": "5376"}), "key_not_object", "'text_config' must be"),
    (json.dumps(QWEN2_7B | {"use_sliding_window": "yes"}), "not_bool", "true or false"),
    (json.dumps(GEMMA3_270M | {"layer_types": [SLIDING] * 3}), "layer_types", "must name 18 layers"),
    (json.dumps(JAMBA | {"attn_layer_offset": 8}), "key_range", "'attn_layer_offset'"),
    ("{" * 100_000, "not_json", "is not JSON"),
    (" " * (hf_config.MAX_BYTES + 1), "too_big", "a config.json has a few thousand"),
])
def test_a_malformed_file_is_one_problem_that_names_it(text, code, fragment):
    with pytest.raises(Invalid) as err:
        hf_config.shape_from_json(text, "config.json")
    assert [p.code for p in err.value.problems] == [code]
    message = str(err.value)
    assert fragment in message and "'config.json'" in message and "\n" not in message


def test_every_problem_is_worded_in_both_languages():
    from swa_demo.validate import MESSAGES

    codes = {"unreadable", "too_big", "not_json", "not_object", "key_not_object", "missing_key",
             "not_whole", "not_bool", "key_range", "model_type", "layer_types"}
    assert codes <= set(MESSAGES["en"]) and codes <= set(MESSAGES["zh"])
