"""What compression keeps: MiniLM on StackFAQ retrieval and STS-B, word2vec on word similarity.

Run: .bench-venv/bin/python benchmarks/compression.py

Variants: float32 (the reference), float16, int8 (ranges calibrated on 10,000 STS-B *train*
sentences), binary signs with float rescoring of the 4 x k Hamming candidates, binary alone, PCA 128
(fitted on the same train sentences), product quantization 48 x 8 bits (embedlab's ProductQuantizer,
which runs faiss since our numpy version measured 26x slower, and faiss's IndexPQ called directly,
both trained on the same sentences). Reported: StackFAQ nDCG@10 (125 answers, 1,249 rephrased
questions as queries), STS-B test Spearman, each as % of float32; bytes per vector; and on a
17k-sentence index (every STS-B English sentence) the index memory and the queries answered per
second (StackFAQ questions, top 10, best of 3 passes). The int8 and binary codes are compared with
sentence-transformers' ``quantize_embeddings`` on the same rows and calibration. Word vectors:
skip-gram trained on en_gutenberg_10m (as static_training.py), then WS-353, SimLex-999 and Google
analogies (30k words) for float32, float16, int8, binary and PCA 50.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from _common import SHARED, WORK, best_of, machine, table
from embedlab import load_vectors, save_vectors
from embedlab.compress import (
    PCA,
    ProductQuantizer,
    ScalarQuantizer,
    binarize,
    compress_vectors,
    search_binary,
    unbinarize,
)
from embedlab.evaluate import word_analogy, word_similarity
from embedlab.evaluate.retrieval import load_stackfaq, retrieval_metrics
from embedlab.records import read_columns
from embedlab.rows import normalized

STS = SHARED / "sts" / "stsb"


def encode_cached(name: str, texts: list[str]) -> np.ndarray:
    path = WORK / f"compress_{name}.npy"
    if path.exists():
        cached = np.load(path, allow_pickle=False)
        if cached.shape[0] == len(texts):
            return cached
    from embedlab.encoders import TransformerEncoder

    x = TransformerEncoder(threads=2).encode(texts, normalize=True, show_progress=False)
    np.save(path, x, allow_pickle=False)
    return np.asarray(x, dtype=np.float32)


def sts(split: str) -> tuple[list[str], list[str], np.ndarray]:
    cols = read_columns(
        STS / f"stsb-en-{split}.csv", {"a": 0, "b": 1, "s": 2}, numeric=["s"], header=False
    )
    return [str(t) for t in cols["a"]], [str(t) for t in cols["b"]], np.asarray(cols["s"], float)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def run_of(ids: np.ndarray, scores: np.ndarray, qids: list[str], dids: list[str]) -> dict:
    return {
        q: {dids[int(j)]: float(s) for j, s in zip(ids[i], scores[i], strict=True)}
        for i, q in enumerate(qids)
    }


def top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns of each row, best first (argpartition, then a sort of ``k``)."""
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-best, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(best, order, axis=1)


class Variant:
    """One compression: how it builds an index from document rows and searches it, how it scores
    STS pairs, and its bytes a vector."""

    def __init__(self, name: str, bytes_per_vector: float, build: Any, search: Any, pair: Any):
        self.name, self.bytes = name, bytes_per_vector
        self.build, self.search, self.pair = build, search, pair


def variants(calib: np.ndarray) -> list[Variant]:
    import faiss

    dim = calib.shape[1]
    sq = ScalarQuantizer("int8").fit(calib)
    pca = PCA(128).fit(calib)
    pq = ProductQuantizer(m=48, nbits=8, seed=0).fit(calib)
    fpq = faiss.IndexPQ(dim, 48, 8, faiss.METRIC_INNER_PRODUCT)
    fpq.train(np.ascontiguousarray(calib))

    def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = normalized(a), normalized(b)
        return (a * b).sum(axis=1)

    def faiss_build(d: np.ndarray) -> Any:
        index = faiss.IndexPQ(dim, 48, 8, faiss.METRIC_INNER_PRODUCT)
        index.pq = fpq.pq
        index.is_trained = True
        index.add(np.ascontiguousarray(d))
        return index

    def faiss_search(index: Any, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = index.search(np.ascontiguousarray(q), k)
        return ids, scores

    def faiss_decode(x: np.ndarray) -> np.ndarray:
        return fpq.pq.decode(fpq.pq.compute_codes(np.ascontiguousarray(x)))

    def signs(x: np.ndarray) -> np.ndarray:
        return unbinarize(binarize(x), dim)

    def hamming(codes: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return search_binary(q, codes, k, rescore=1)  # +-1 dot products rank as Hamming does

    def round_trip(f: Any, g: Any) -> Any:
        return lambda a, b: cos(g(f(a)), g(f(b)))

    return [
        Variant("float32", dim * 4, lambda d: d, lambda d, q, k: top(q @ d.T, k), cos),
        Variant(
            "float16",
            dim * 2,
            lambda d: d.astype(np.float16),
            lambda d, q, k: top(q @ d.astype(np.float32).T, k),
            lambda a, b: cos(a.astype(np.float16), b.astype(np.float16)),
        ),
        Variant(
            "int8 (calibrated)",
            dim,
            sq.transform,
            lambda codes, q, k: top(sq.scores(q, codes), k),
            round_trip(sq.transform, sq.inverse_transform),
        ),
        Variant(
            "binary + float rescoring (4 x k)",
            dim / 8,
            lambda d: (binarize(d), d),
            lambda index, q, k: search_binary(q, index[0], k, vectors=index[1], rescore=4),
            lambda a, b: cos(signs(a), signs(b)),
        ),
        Variant(
            "binary, Hamming only",
            dim / 8,
            binarize,
            hamming,
            lambda a, b: cos(signs(a), signs(b)),
        ),
        Variant(
            "PCA 128",
            128 * 4,
            pca.transform,
            lambda z, q, k: top(pca.transform(q) @ z.T, k),
            lambda a, b: cos(pca.transform(a), pca.transform(b)),
        ),
        Variant(
            "PQ 48 x 8 bits (embedlab, faiss inside)",
            48,
            pq.transform,
            lambda codes, q, k: pq.search(q, codes, k),
            round_trip(pq.transform, pq.inverse_transform),
        ),
        Variant(
            "PQ 48 x 8 bits (faiss IndexPQ)",
            48,
            faiss_build,
            faiss_search,
            lambda a, b: cos(faiss_decode(a), faiss_decode(b)),
        ),
    ]


def index_memory(name: str, d: np.ndarray) -> int:
    n, dim = d.shape
    sizes = {
        "float32": n * dim * 4,
        "float16": n * dim * 2,
        "int8 (calibrated)": n * dim + 2 * dim * 4,
        "binary + float rescoring (4 x k)": n * dim // 8,  # + the float rows, memory-mapped
        "binary, Hamming only": n * dim // 8,
        "PCA 128": n * 128 * 4 + 129 * dim * 4,
        "PQ 48 x 8 bits (embedlab, faiss inside)": n * 48 + 256 * dim * 4,
        "PQ 48 x 8 bits (faiss IndexPQ)": n * 48 + 256 * dim * 4,
    }
    return sizes[name]


def sentence_section() -> list[list[str]]:
    faq = load_stackfaq(SHARED / "faq" / "stackfaq" / "stackExchange-FAQ.xml")
    dids, qids = list(faq.corpus), list(faq.queries)
    docs = encode_cached("stackfaq_docs", [faq.corpus[d] for d in dids])
    queries = encode_cached("stackfaq_queries", [faq.queries[q] for q in qids])
    a_train, b_train, _ = sts("train")
    calib = encode_cached("stsb_train_10000", (a_train + b_train)[:10000])
    a, b, gold = sts("test")
    ea, eb = encode_cached("stsb_test_a", a), encode_cached("stsb_test_b", b)
    big_texts = sorted(
        {t for split in ("train", "dev", "test") for t in [*sts(split)[0], *sts(split)[1]]}
    )
    big = encode_cached("stsb_all", big_texts)

    rows, base = [], {}
    for v in variants(calib):
        ids, scores = v.search(v.build(docs), queries, 10)
        ndcg = retrieval_metrics(run_of(ids, scores, qids, dids), faq.qrels).ndcg_at_10
        rho = spearman(v.pair(ea, eb), gold)
        base = base or {"ndcg": ndcg, "rho": rho}
        index = v.build(big)
        took, _ = best_of(lambda: v.search(index, queries, 10), repeat=3)  # noqa: B023
        qps = len(queries) / took
        rows.append(
            [
                v.name,
                f"{ndcg:.4f} ({ndcg / base['ndcg']:.1%})",
                f"{rho * 100:.2f} ({rho / base['rho']:.1%})",
                f"{v.bytes:g} ({384 * 4 / v.bytes:.0f}x smaller)",
                f"{index_memory(v.name, big) / 2**20:.1f} MB",
                f"{qps:,.0f}",
            ]
        )
    return rows, docs, calib  # type: ignore[return-value]


def st_crosscheck(docs: np.ndarray, calib: np.ndarray) -> list[list[str]]:
    from sentence_transformers.util.quantization import quantize_embeddings

    from embedlab.compress import quantize_embeddings as ours

    out = []
    for precision in ("int8", "uint8", "binary", "ubinary"):
        mine = ours(docs, precision, calibration=calib)  # type: ignore[arg-type]
        theirs = quantize_embeddings(docs, precision=precision, calibration_embeddings=calib)
        same = int((mine == theirs).all(axis=1).sum())
        out.append([precision, f"{same} of {len(docs)} rows identical", str(mine.dtype)])
    return out


def word_section() -> list[list[str]]:
    path = WORK / "compress_w2v.embedlab"
    if not path.exists():
        from embedlab.static import Word2Vec
        from embedlab.text import Corpus

        corpus = WORK / "en10m.tok"
        if not corpus.exists():
            raise SystemExit("run benchmarks/static_training.py first (it writes en10m.tok)")
        m = Word2Vec(seed=1, show_progress=False).fit(Corpus(corpus, tokenizer=str.split))
        save_vectors(m.vectors_, path)
    v = load_vectors(path)
    rows = []
    base: dict[str, float] = {}
    for name, kw in (
        ("float32", {}),
        ("float16", {"dtype": "float16"}),
        ("int8", {"dtype": "int8"}),
        ("binary", {"dtype": "binary"}),
        ("PCA 50", {"pca": 50}),
    ):
        small = compress_vectors(v, **kw).vectors  # type: ignore[arg-type]
        got = {
            "ws": word_similarity(small, "ws353").spearman,
            "simlex": word_similarity(small, "simlex999").spearman,
            "google": word_analogy(small, "google", restrict_vocab=30000).accuracy,
        }
        base = base or got
        rows.append(
            [name] + [f"{got[k]:.4f} ({got[k] / base[k]:.1%})" for k in ("ws", "simlex", "google")]
        )
    return rows


def main() -> None:
    WORK.mkdir(exist_ok=True)
    print(f"# compression ({machine()}, {time.strftime('%Y-%m-%d')})\n")
    rows, docs, calib = sentence_section()
    print("## all-MiniLM-L6-v2 (384 dims)\n")
    print(
        table(
            [
                "variant",
                "StackFAQ nDCG@10 (% of float32)",
                "STS-B test Spearman (%)",
                "bytes a vector",
                "index memory, 17k sentences",
                "queries/s (top 10 of 17k)",
            ],
            rows,
        )
    )
    print("\n## codes against sentence-transformers' quantize_embeddings (StackFAQ answers)\n")
    print(table(["precision", "same codes", "dtype"], st_crosscheck(docs, calib)))
    print("\n## skip-gram word2vec on en_gutenberg_10m (100 dims)\n")
    print(table(["variant", "WS-353 (%)", "SimLex-999 (%)", "Google analogy (%)"], word_section()))


if __name__ == "__main__":
    main()
