"""Image embedding throughput: embedlab's ClipEncoder against transformers' CLIPModel.

Run: .venv/bin/python benchmarks/images.py   (torch, transformers, onnxruntime; 2 threads)

Two random CLIP models built from configs (no weights can be downloaded here): the tiny test
fixture (32 px, 2 layers) and a ViT-B/32-sized one (224 px, 12 layers of 768, patch 32; a small
text tower, which image encoding never runs). Both sides read the same 128 JPEGs of
../shared/data/image_caption/en_photos from disk and return projected image features; batches of 32.
transformers: ``load_image`` + ``CLIPImageProcessor`` (its PIL backend: torchvision is not
installed) + ``CLIPModel.get_image_features`` under ``torch.inference_mode``. embedlab:
``ClipEncoder.encode_images`` on torch and on ONNX Runtime (fp32), and on torch under bf16
autocast (``precision="bf16"``, AMX on this CPU). Best of 3 runs after one warm-up; the features
are compared with transformers' (max abs diff, least cosine) so each speed has its fidelity.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from _common import SHARED, WORK, machine, table

PHOTOS = SHARED / "image_caption" / "en_photos" / "images"
N_IMAGES = 128
BATCH = 32


def build(folder: Path, *, tiny: bool) -> Path:
    if (folder / "model.safetensors").exists():
        return folder
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bos, eos = "<|startoftext|>", "<|endoftext|>"
    tok.train_from_iterator(["a photo of a dog", "a cat on a sofa"] * 5,
                            BpeTrainer(vocab_size=300, special_tokens=[bos, eos]))  # fmt: skip
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, 0), (eos, 1)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=eos, model_max_length=77
    ).save_pretrained(str(folder))
    text = {
        "vocab_size": 300,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "pad_token_id": 1,
    }
    if tiny:
        vision = {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        }
    else:  # ViT-B/32's vision tower
        vision = {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "image_size": 224,
            "patch_size": 32,
        }
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=text, vision_config=vision, projection_dim=512 if not tiny else 24
    )
    CLIPModel(config).eval().save_pretrained(str(folder), safe_serialization=True)
    size = vision["image_size"]
    CLIPImageProcessorPil(
        size={"shortest_edge": size}, crop_size={"height": size, "width": size}
    ).save_pretrained(str(folder))
    return folder


def transformers_side(folder: Path, files: list[Path]):  # type: ignore[no-untyped-def]
    import torch
    from transformers import CLIPImageProcessorPil, CLIPModel
    from transformers.image_utils import load_image

    model = CLIPModel.from_pretrained(str(folder)).eval()
    processor = CLIPImageProcessorPil.from_pretrained(str(folder))

    def run() -> np.ndarray:
        out = []
        for at in range(0, len(files), BATCH):
            images = [load_image(str(f)) for f in files[at : at + BATCH]]
            pixels = processor(images, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                feats = model.get_image_features(pixel_values=pixels)
            feats = feats if hasattr(feats, "shape") else feats.pooler_output
            out.append(feats.numpy())
        return np.concatenate(out)

    return run


def embedlab_side(folder: Path, files: list[Path], backend: str, precision: str):  # type: ignore[no-untyped-def]
    from embedlab.encoders.clip import ClipEncoder

    enc = ClipEncoder(
        folder, backend=backend, normalize=False, batch_size=BATCH, precision=precision
    )  # type: ignore[arg-type]
    return lambda: enc.encode_images(files)


def timed(fn) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    fn()  # warm-up (and the ONNX export, cached)
    best, out = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out  # type: ignore[return-value]


def main() -> None:
    import torch

    torch.set_num_threads(2)
    files = sorted(PHOTOS.glob("*.jpg"))[:N_IMAGES]
    print(f"# image embedding throughput ({machine()}, {time.strftime('%Y-%m-%d')})\n", flush=True)
    rows = []
    for label, tiny in (("tiny CLIP (32 px, 2 layers)", True), ("ViT-B/32-sized CLIP", False)):
        if "--tiny" in sys.argv and not tiny:
            continue
        folder = build(WORK / ("clip_tiny" if tiny else "clip_vit_b32_random"), tiny=tiny)
        base_s, base = timed(transformers_side(folder, files))
        rows.append([label, "transformers CLIPModel (fp32)", f"{len(files) / base_s:.1f}", "1.00x",
                     "-", "-"])  # fmt: skip
        for backend, precision in (("torch", "fp32"), ("onnx", "fp32"), ("torch", "bf16")):
            took, mine = timed(embedlab_side(folder, files, backend, precision))
            diff = float(np.abs(mine - base).max())
            a = mine / np.linalg.norm(mine, axis=1, keepdims=True)
            b = base / np.linalg.norm(base, axis=1, keepdims=True)
            cosine = float((a * b).sum(axis=1).min())
            rows.append([label, f"embedlab ClipEncoder ({backend}, {precision})",
                         f"{len(files) / took:.1f}", f"{base_s / took:.2f}x", f"{diff:.1e}",
                         f"{cosine:.6f}"])  # fmt: skip
            print(rows[-1], flush=True)
    header = ["model", "run", "images/s", "vs transformers", "max abs diff", "min cosine"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
