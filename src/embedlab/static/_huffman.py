"""Huffman coding of a vocabulary for hierarchical softmax (word2vec C's CreateBinaryTree).

``huffman_tree([5, 3, 2])`` -> codes, points, lengths: frequent words get short codes; ``points``
are the inner-node rows (0 .. V-2) on the path from the root. Nothing here trains.
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt


def huffman_tree(
    counts: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """``(codes [V, L] uint8, points [V, L] int32, lengths [V] int32)`` for counts in any order."""
    n = int(counts.shape[0])
    if n < 2:
        return np.zeros((n, 1), np.uint8), np.zeros((n, 1), np.int32), np.zeros(n, np.int32)
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * n - 1, dtype=np.int64)
    binary = np.zeros(2 * n - 1, dtype=np.uint8)
    nxt = n
    while len(heap) > 1:
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a], parent[b] = nxt, nxt
        binary[b] = 1
        heapq.heappush(heap, (c1 + c2, nxt))
        nxt += 1
    root = 2 * n - 2
    paths: list[tuple[list[int], list[int]]] = []
    for w in range(n):
        code, point = [], []
        node = w
        while node != root:
            code.append(int(binary[node]))
            node = int(parent[node])
            point.append(node - n)
        paths.append((code[::-1], point[::-1]))
    width = max(len(c) for c, _ in paths)
    codes = np.zeros((n, width), dtype=np.uint8)
    points = np.zeros((n, width), dtype=np.int32)
    lengths = np.zeros(n, dtype=np.int32)
    for w, (c, p) in enumerate(paths):
        codes[w, : len(c)] = c
        points[w, : len(p)] = p
        lengths[w] = len(c)
    return codes, points, lengths
