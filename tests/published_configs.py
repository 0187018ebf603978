"""Published transformers config.json files, as their repositories publish them (each named above it),
trimmed to the keys that decide a model's costs plus a few that do not, as real files have them."""

from swa_demo.config import FULL, SLIDING

# mistralai/Mistral-7B-v0.1
MISTRAL_7B = {"architectures": ["MistralForCausalLM"], "hidden_act": "silu", "hidden_size": 4096,
              "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
              "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
              "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16", "vocab_size": 32000}
# meta-llama/Llama-2-7b-hf
LLAMA_2_7B = {"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": 4096,
              "intermediate_size": 11008, "max_position_embeddings": 4096, "model_type": "llama",
              "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
              "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None, "tie_word_embeddings": False,
              "torch_dtype": "float16", "vocab_size": 32000}
# mistralai/Mixtral-8x7B-v0.1
MIXTRAL_8X7B = {"architectures": ["MixtralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
                "max_position_embeddings": 32768, "model_type": "mixtral", "num_attention_heads": 32,
                "num_experts_per_tok": 2, "num_hidden_layers": 32, "num_key_value_heads": 8,
                "num_local_experts": 8, "rope_theta": 1000000.0, "sliding_window": None,
                "tie_word_embeddings": False, "vocab_size": 32000}
# Qwen/Qwen2-7B
QWEN2_7B = {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 3584, "intermediate_size": 18944,
            "max_position_embeddings": 131072, "max_window_layers": 28, "model_type": "qwen2",
            "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
            "rope_theta": 1000000.0, "sliding_window": 131072, "tie_word_embeddings": False,
            "use_sliding_window": False, "vocab_size": 152064}
# google/gemma-2-9b
GEMMA2_9B = {"architectures": ["Gemma2ForCausalLM"], "attn_logit_softcapping": 50.0,
             "cache_implementation": "hybrid", "final_logit_softcapping": 30.0, "head_dim": 256,
             "hidden_act": "gelu_pytorch_tanh", "hidden_size": 3584, "intermediate_size": 14336,
             "max_position_embeddings": 8192, "model_type": "gemma2", "num_attention_heads": 16,
             "num_hidden_layers": 42, "num_key_value_heads": 8, "query_pre_attn_scalar": 256,
             "sliding_window": 4096, "sliding_window_size": 4096, "torch_dtype": "float32",
             "vocab_size": 256000}
# google/gemma-3-27b-it (multimodal: the language model's sizes are in text_config; no vocab_size there)
GEMMA3_27B = {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
              "mm_tokens_per_image": 256,
              "text_config": {"head_dim": 128, "hidden_size": 5376, "intermediate_size": 21504,
                              "model_type": "gemma3_text", "num_attention_heads": 32, "num_hidden_layers": 62,
                              "num_key_value_heads": 16, "query_pre_attn_scalar": 168,
                              "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "sliding_window": 1024},
              "vision_config": {"hidden_size": 1152, "model_type": "siglip_vision_model",
                                "num_hidden_layers": 27}}
# google/gemma-3-1b-it
GEMMA3_1B = {"architectures": ["Gemma3ForCausalLM"], "head_dim": 256, "hidden_size": 1152,
             "intermediate_size": 6912, "max_position_embeddings": 32768, "model_type": "gemma3_text",
             "num_attention_heads": 4, "num_hidden_layers": 26, "num_key_value_heads": 1,
             "query_pre_attn_scalar": 256, "sliding_window": 512, "sliding_window_pattern": 6,
             "vocab_size": 262144}
# google/gemma-3-270m (a newer file: an explicit layer_types list)
GEMMA3_270M = {"architectures": ["Gemma3ForCausalLM"], "_sliding_window_pattern": 6, "head_dim": 256,
               "hidden_size": 640, "intermediate_size": 2048,
               "layer_types": ([SLIDING] * 5 + [FULL]) * 3, "max_position_embeddings": 32768,
               "model_type": "gemma3_text", "num_attention_heads": 4, "num_hidden_layers": 18,
               "num_key_value_heads": 1, "sliding_window": 512, "vocab_size": 262144}
# microsoft/Phi-3-mini-4k-instruct
PHI3_MINI = {"architectures": ["Phi3ForCausalLM"], "hidden_size": 3072, "intermediate_size": 8192,
             "max_position_embeddings": 4096, "model_type": "phi3", "num_attention_heads": 32,
             "num_hidden_layers": 32, "num_key_value_heads": 32, "original_max_position_embeddings": 4096,
             "sliding_window": 2047, "tie_word_embeddings": False, "vocab_size": 32064}
# ai21labs/Jamba-v0.1
JAMBA = {"architectures": ["JambaForCausalLM"], "attn_layer_offset": 4, "attn_layer_period": 8,
         "expert_layer_offset": 1, "expert_layer_period": 2, "hidden_size": 4096, "intermediate_size": 14336,
         "mamba_conv_bias": True, "mamba_d_conv": 4, "mamba_d_state": 16, "mamba_dt_rank": 256,
         "mamba_expand": 2, "mamba_proj_bias": False, "max_position_embeddings": 262144,
         "model_type": "jamba", "n_ctx": 262144, "num_attention_heads": 32, "num_experts": 16,
         "num_experts_per_tok": 2, "num_hidden_layers": 32, "num_key_value_heads": 8, "sliding_window": None,
         "tie_word_embeddings": False, "use_mamba_kernels": True, "vocab_size": 65536}
