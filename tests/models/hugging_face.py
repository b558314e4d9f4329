"""Tiny Hugging Face models built from configs (transformers is a dev dependency): factories for `--module` and
the import tests. Each is built by `import_model` on the meta device, so nothing is allocated.

`llama` matches the llama2_7b spec with tests/test_llm_cli.py's TINY settings (2 layers, width 64, 4 query and
2 key/value heads, an MLP of 96, a vocabulary of 50, untied LM head), so the two LLM sections can be compared.
"""

from __future__ import annotations

import transformers

DECODER = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               vocab_size=50, max_position_embeddings=64, rms_norm_eps=1e-5)  # fmt: skip


def llama():
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**DECODER))


def llama_model():
    return transformers.LlamaModel(transformers.LlamaConfig(**DECODER))


def mistral():
    return transformers.MistralModel(transformers.MistralConfig(**DECODER, sliding_window=32))


def qwen2():
    return transformers.Qwen2Model(transformers.Qwen2Config(**DECODER))


def gpt2():
    config = transformers.GPT2Config(n_embd=64, n_layer=2, n_head=4, n_inner=96, vocab_size=50, n_positions=64,
                                     bos_token_id=0, eos_token_id=0)  # fmt: skip
    return transformers.GPT2Model(config)


def bert():
    return transformers.BertModel(transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                                          intermediate_size=96, vocab_size=50,
                                                          max_position_embeddings=64, pad_token_id=0))  # fmt: skip


def distilbert():
    return transformers.DistilBertModel(transformers.DistilBertConfig(dim=64, n_layers=2, n_heads=4, hidden_dim=96,
                                                                      vocab_size=50, max_position_embeddings=64,
                                                                      pad_token_id=0))  # fmt: skip


def roberta():
    return transformers.RobertaModel(transformers.RobertaConfig(hidden_size=64, num_hidden_layers=2,
                                                                num_attention_heads=4, intermediate_size=96,
                                                                vocab_size=50, max_position_embeddings=64))  # fmt: skip


def wav2vec2():
    """An audio encoder: a conv feature extractor on `input_values[:, None]`, then a positional conv whose weight
    is normalised over its kernel taps (parametrizations.weight_norm, dim=2), then a transformer encoder."""
    config = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                                         intermediate_size=48, conv_dim=(16, 16), conv_stride=(5, 2),
                                         conv_kernel=(10, 3), num_conv_pos_embeddings=16,
                                         num_conv_pos_embedding_groups=4)  # fmt: skip
    return transformers.Wav2Vec2Model(config)


def t5_encoder():
    """T5's encoder: the first layer's attention computes the relative-position bias (nn.Embedding of buckets made
    from the sizes alone) and every later layer is handed the same tensor (T5Stack shares it)."""
    config = transformers.T5Config(d_model=32, d_kv=8, d_ff=48, num_layers=3, num_heads=4, vocab_size=50,
                                   relative_attention_num_buckets=8, relative_attention_max_distance=16)  # fmt: skip
    return transformers.T5EncoderModel(config)


def swin():
    """Swin (transformers' SwinModel): window attention on [B·nW, N, C], whose every second block adds the
    shifted-window mask (made from the sizes alone, expanded to the batch) to the gathered relative-position bias,
    and patch merging's four interleaved sub-grids `x[:, r::2, c::2, :]`."""
    config = transformers.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                                     window_size=4, mlp_ratio=2.0)  # fmt: skip
    return transformers.SwinModel(config)
