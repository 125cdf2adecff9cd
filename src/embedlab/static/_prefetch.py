"""Software prefetch for numba kernels: ask the CPU for a row's cache lines ahead of its use.

Rows drawn at random from a large table (negative samples over the whole vocabulary) are mostly
cache misses; a kernel that knows the next rows it will read can ask for them now, so their misses
overlap the current work. numba has no prefetch of its own: :func:`_prefetch_at` emits LLVM's
``llvm.prefetch`` intrinsic (x86 ``prefetcht0``) for one element's address. Prefetches never
change values and never fault.

This module does not train.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _prefetch_at(typingctx, weights, row, col):  # pragma: no cover - compiled
    """Ask the CPU to bring ``weights[row, col]``'s cache line in (``llvm.prefetch``: a read, kept
    in all cache levels); no effect on the values."""

    def codegen(context, builder, sig, args):
        arr_type = sig.args[0]
        array = context.make_array(arr_type)(context, builder, args[0])
        at = [context.cast(builder, a, t, types.intp) for a, t in zip(args[1:], sig.args[1:])]
        ptr = cgutils.get_item_pointer(context, builder, arr_type, array, at)
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]),
            "llvm.prefetch.p0",
        )  # fmt: skip
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(weights, row, col), codegen


@njit(inline="always")
def prefetch_row(weights, row, dim):  # pragma: no cover - compiled
    """Prefetch every cache line of ``weights[row]`` (``dim`` floats: 16 to a 64-byte line, and
    the last one, as rows need not start on a line)."""
    for d in range(0, dim, 16):
        _prefetch_at(weights, row, d)
    _prefetch_at(weights, row, dim - 1)
