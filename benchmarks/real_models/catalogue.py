"""Which models the campaign runs, with the input each gets and the code that builds it.

Every model is a small Python file with a `build()` factory: archcalc imports it exactly as a user
would (`archcalc report --module FILE.py:build`), and the peer worker imports the same file.

- torchvision: every classification model (224 px; inception_v3 at 299), every video model (16
  frames; 112 px for the ResNet-3D family, 224 for S3D, MViT and Swin3D, which need it), every
  segmentation model (224 px) and every detection model (320 px; the model resizes internally), each
  from `torchvision.models.get_model(name)` without weights (`weights_backbone=None` where the default
  would download an ImageNet backbone).
- timm: a deterministic sample, see timm_sample.py.
- Hugging Face transformers: models built from configs (no weights are downloaded). Text models take
  integer token ids, 128 tokens; vision and audio models take float input.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Model:
    key: str  # "torchvision/resnet50", "timm/convnext_atto", "hf/bert"
    category: str  # torchvision-classification, torchvision-video, ..., timm, huggingface
    input_shape: tuple[int, ...]  # one sample, no batch axis
    code: str  # a module defining build()
    tokens: int = 0  # >0: the model takes integer token ids (with this vocabulary size), not floats
    note: str = ""
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def file_stem(self) -> str:
        return self.key.replace("/", "__").replace("-", "_").replace(".", "_")

    def to_json(self) -> str:
        return json.dumps(asdict(self))


CATEGORIES = ("torchvision-classification", "torchvision-video", "torchvision-segmentation",
              "torchvision-detection", "timm", "huggingface")  # fmt: skip

_TORCHVISION = '''import torchvision


def build():
    return torchvision.models.get_model({name!r}{arguments})
'''


def torchvision_models() -> list[Model]:
    import torchvision.models as tvm

    models = []
    groups = (("torchvision-classification", tvm), ("torchvision-video", tvm.video),
              ("torchvision-segmentation", tvm.segmentation), ("torchvision-detection", tvm.detection))  # fmt: skip
    for category, module in groups:
        for name in sorted(tvm.list_models(module=module)):
            if category == "torchvision-classification":
                shape = (3, 299, 299) if name == "inception_v3" else (3, 224, 224)
            elif category == "torchvision-video":
                side = 112 if name in ("r3d_18", "mc3_18", "r2plus1d_18") else 224
                shape = (3, 16, side, side)
            elif category == "torchvision-segmentation":
                shape = (3, 224, 224)
            else:
                shape = (3, 320, 320)
            # Segmentation and detection models load an ImageNet backbone by default: no downloads here.
            arguments = ", weights_backbone=None" if category in ("torchvision-segmentation",
                                                                 "torchvision-detection") else ""  # fmt: skip
            models.append(Model(f"torchvision/{name}", category, shape,
                                _TORCHVISION.format(name=name, arguments=arguments)))  # fmt: skip
    return models


_TIMM = '''import timm


def build():
    return timm.create_model({name!r}, pretrained=False)
'''


def timm_models(sample: list[dict]) -> list[Model]:
    return [Model(f"timm/{entry['name']}", "timm", tuple(entry["input_size"]), _TIMM.format(name=entry["name"]),
                  note=f"family {entry['family']}: {entry['role']}") for entry in sample]  # fmt: skip


# Hugging Face: (key, imports, constructor expression, input shape, vocabulary size for text models).
# Default configs are the base checkpoints' shapes (bert-base-uncased, gpt2, t5-small, ViT-B/16,
# whisper's defaults); Llama and Mistral are scaled down to a 12-layer, 768-wide model of the same shape
# (grouped-query attention, SwiGLU, RoPE) so the peers can run them on this machine's CPU.
_DECODER = "hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=4"
_HF = (
    ("bert", "BertConfig, BertModel", "BertModel(BertConfig())", (128,), 30522),
    ("distilbert", "DistilBertConfig, DistilBertModel", "DistilBertModel(DistilBertConfig())", (128,), 30522),
    ("roberta", "RobertaConfig, RobertaModel", "RobertaModel(RobertaConfig())", (128,), 50265),
    ("gpt2", "GPT2Config, GPT2Model", "GPT2Model(GPT2Config())", (128,), 50257),
    ("llama", "LlamaConfig, LlamaModel", f"LlamaModel(LlamaConfig({_DECODER}))", (128,), 32000),
    ("mistral", "MistralConfig, MistralModel", f"MistralModel(MistralConfig({_DECODER}))", (128,), 32000),
    ("t5-encoder", "T5Config, T5EncoderModel", "T5EncoderModel(T5Config())", (128,), 32128),
    ("vit", "ViTConfig, ViTModel", "ViTModel(ViTConfig())", (3, 224, 224), 0),
    ("convnext", "ConvNextConfig, ConvNextModel", "ConvNextModel(ConvNextConfig())", (3, 224, 224), 0),
    ("resnet", "ResNetConfig, ResNetModel", "ResNetModel(ResNetConfig())", (3, 224, 224), 0),
    ("swin", "SwinConfig, SwinModel", "SwinModel(SwinConfig())", (3, 224, 224), 0),
    ("clip-vision", "CLIPVisionConfig, CLIPVisionModel", "CLIPVisionModel(CLIPVisionConfig())", (3, 224, 224), 0),
    ("whisper-encoder", "WhisperConfig, WhisperModel", "WhisperModel(WhisperConfig()).get_encoder()",
     (80, 3000), 0),
    ("wav2vec2", "Wav2Vec2Config, Wav2Vec2Model", "Wav2Vec2Model(Wav2Vec2Config())", (16000,), 0),
)  # fmt: skip

_HF_CODE = '''from transformers import {imports}


def build():
    return {expression}
'''


def huggingface_models() -> list[Model]:
    models = []
    for key, imports, expression, shape, vocabulary in _HF:
        note = "text: integer token ids" if vocabulary else ""
        models.append(Model(f"hf/{key}", "huggingface", shape, _HF_CODE.format(imports=imports, expression=expression),
                            tokens=vocabulary, note=note))  # fmt: skip
    return models
