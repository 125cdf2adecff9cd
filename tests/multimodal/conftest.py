"""Tiny random CLIP and SigLIP folders (transformers configs, a BPE tokenizer trained on the fly),
and a handful of real photos from tests/data/photos with variants made from them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
Image = pytest.importorskip("PIL.Image")

PHOTOS = Path(__file__).resolve().parent.parent / "data" / "photos"
CAPTIONS = [
    "a dog runs on the beach",
    "two children play football in the park",
    "a plate of food on a wooden table",
    "a man rides a bicycle down the street",
    "a cat sleeps on a sofa",
    "a red bus parked by the road",
    "people walk in the snow",
    "a boat on a calm lake at sunset",
]


def _bpe_tokenizer(folder: Path, *, lowercase: bool = True) -> int:
    """A byte-level BPE with CLIP's special tokens; returns the vocabulary size."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    bos, eos = "<|startoftext|>", "<|endoftext|>"
    tok = Tokenizer(models.BPE(unk_token=None))
    if lowercase:
        tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=200, special_tokens=[bos, eos],
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tok.train_from_iterator(CAPTIONS * 3, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        special_tokens=[(bos, tok.token_to_id(bos)), (eos, tok.token_to_id(eos))],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=eos, model_max_length=16
    )
    fast.save_pretrained(str(folder))
    return len(fast)


def make_clip(folder: Path, *, image_size: int = 32, hidden: int = 32, layers: int = 2) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel

    vocab = _bpe_tokenizer(folder)
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"vocab_size": vocab, "hidden_size": hidden, "intermediate_size": 2 * hidden,
                     "num_hidden_layers": layers, "num_attention_heads": 2,
                     "max_position_embeddings": 16, "bos_token_id": 0, "eos_token_id": 1,
                     "pad_token_id": 1},
        vision_config={"hidden_size": hidden, "intermediate_size": 2 * hidden, "num_hidden_layers": layers,
                       "num_attention_heads": 2, "image_size": image_size, "patch_size": 8},
        projection_dim=24,
    )  # fmt: skip
    CLIPModel(config).eval().save_pretrained(str(folder), safe_serialization=True)
    CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    ).save_pretrained(str(folder))
    return folder


def make_siglip(folder: Path, *, image_size: int = 32) -> Path:
    from transformers import SiglipConfig, SiglipModel
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    vocab = _bpe_tokenizer(folder)
    torch.manual_seed(1)
    config = SiglipConfig(
        text_config={"vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 2,
                     "max_position_embeddings": 16, "pad_token_id": 1, "eos_token_id": 1,
                     "bos_token_id": 0},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "image_size": image_size, "patch_size": 8},
    )  # fmt: skip
    SiglipModel(config).eval().save_pretrained(str(folder), safe_serialization=True)
    SiglipImageProcessorPil(size={"height": image_size, "width": image_size}).save_pretrained(
        str(folder)
    )
    return folder


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_siglip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_siglip(tmp_path_factory.mktemp("tiny_siglip"))


def photo_files() -> list[Path]:
    return sorted(PHOTOS.glob("*.jpg"))


@pytest.fixture(scope="session")
def varied_photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The real photos plus variants made from them: grayscale, RGBA with a transparent hole, a
    palette PNG with a transparent colour, an EXIF-rotated JPEG, a tall crop, a tiny one (smaller
    than the crop), an upscaled one, a CMYK JPEG, a 16-bit grayscale PNG and a WebP."""
    out = tmp_path_factory.mktemp("varied")
    files = photo_files()
    base = [Image.open(f) for f in files[:10]]
    made: list[Path] = []

    def save(image: object, name: str, **kw: object) -> None:
        image.save(out / name, **kw)  # type: ignore[attr-defined]
        made.append(out / name)

    save(base[0].convert("L"), "gray.jpg")
    rgba = base[1].convert("RGBA")
    alpha = np.full(rgba.size[::-1], 255, np.uint8)
    alpha[10:60, 20:90] = 0
    rgba.putalpha(Image.fromarray(alpha))
    save(rgba, "rgba.png")
    palette = base[2].convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    save(palette, "palette.png", transparency=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    save(base[3], "rotated.jpg", exif=exif)
    save(base[4].crop((0, 0, 60, base[4].size[1])), "tall.jpg")
    save(base[5].resize((20, 14)), "tiny.png")
    save(base[6].resize((base[6].size[0] * 3, base[6].size[1] * 3)), "big.jpg")
    save(base[7].convert("CMYK"), "cmyk.jpg")
    gray16 = (np.asarray(base[8].convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    save(Image.fromarray(gray16), "gray16.png")
    save(base[9], "photo.webp")
    return files + made


def jpeg_bytes(image: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")  # type: ignore[attr-defined]
    return buffer.getvalue()
