from __future__ import annotations

import subprocess
import sys

import pytest

import embedlab
from embedlab import errors


def test_public_surface_is_small_and_guarded() -> None:
    assert sorted(embedlab.__all__) == [
        "SubwordVectors",
        "Vectors",
        "__version__",
        "load_vectors",
        "save_vectors",
    ]
    for name in embedlab.__all__:
        assert hasattr(embedlab, name)


def test_import_is_light() -> None:
    code = (
        "import sys, embedlab, embedlab.io, embedlab.text, embedlab.evaluate, embedlab.encoders,"
        " embedlab.viz, embedlab.search, embedlab.apps, embedlab.server, embedlab.neural;"
        "heavy = [m for m in ('torch', 'transformers', 'jieba', 'onnxruntime', 'ray', 'fastapi',"
        " 'matplotlib', 'numba', 'sentence_transformers', 'simplemma') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("exc", "builtin"),
    [
        (errors.FormatError, ValueError),
        (errors.ParameterError, ValueError),
        (errors.KeyNotFoundError, KeyError),
        (errors.NotFittedError, AttributeError),
        (errors.MissingDependencyError, ImportError),
        (errors.QueueFull, RuntimeError),
        (errors.WorkerDied, RuntimeError),
        (errors.WorkerTimeout, RuntimeError),
    ],
)
def test_every_error_is_an_embedlab_error_and_its_builtin(exc: type, builtin: type) -> None:
    assert issubclass(exc, errors.EmbedlabError)
    assert issubclass(exc, builtin)


def test_format_error_names_file_line_and_detail() -> None:
    e = errors.FormatError("v.txt", "expected 3 floats after the key, found 2", line=7)
    assert str(e) == "v.txt, line 7: expected 3 floats after the key, found 2"
    assert (e.path, e.line, e.offset) == ("v.txt", 7, None)


def test_check_choice_lists_allowed_values() -> None:
    with pytest.raises(
        errors.ParameterError, match=r"'method' parameter of f must be one of 'a', 'b'"
    ):
        errors.check_choice("method", "f", "c", ("a", "b"))


@pytest.mark.parametrize(
    "module", ["embedlab.io", "embedlab.text", "embedlab.evaluate", "embedlab.errors"]
)
def test_subpackage_all_names_exist(module: str) -> None:
    import importlib

    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__) > 0
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_require_names_the_extra_or_the_package() -> None:
    import json as json_module

    import pytest

    from embedlab.errors import MissingDependencyError
    from embedlab.optional import require

    assert require("json", "x") is json_module
    with pytest.raises(
        MissingDependencyError,
        match=r"^no_such_mod is needed for HNSW indexes: pip install 'embedlab\[search\]'$",
    ):
        require("no_such_mod", "search", "HNSW indexes")
    with pytest.raises(
        MissingDependencyError,
        match=r"^no_such_mod is needed for UMAP: pip install umap-learn \(or use method='pca'\)$",
    ):
        require("no_such_mod", None, "UMAP", package="umap-learn", instead="use method='pca'")


def test_rows_normalise_and_truncate() -> None:
    import numpy as np

    from embedlab.rows import normalize_inplace, normalized, truncated

    x = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(normalized(x), [[3 / 13, 4 / 13, 12 / 13], [0, 0, 0]], rtol=1e-6)
    assert x[0, 0] == 3.0  # normalized makes a new array
    np.testing.assert_allclose(truncated(x, 2), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    assert normalize_inplace(x) is x and abs(float(np.linalg.norm(x[0])) - 1) < 1e-6
