"""The define_tensor arguments that describe a tensor of given sizes and strides."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple


def tensor_layout(
    sizes: Sequence[int], strides: Sequence[int], static_sizes: bool
) -> Tuple[List[int], List[Optional[bool]], Optional[List[int]]]:
    """(shape, contiguity, stride_order) in nvFuser's meaning.

    shape: the sizes if ``static_sizes``, else -1 per axis and 1 for size-1
    axes (those broadcast). stride_order[i]: the rank of axis i's stride, the
    outermost axis being ndim-1; None when it is the default (row major).
    contiguity, per axis: None for a size-1 axis, else whether the axis is
    dense with the next inner non-broadcast axis in stride order.
    """
    n = len(sizes)
    if len(strides) != n:
        raise ValueError(f"from_pytorch(): {len(strides)} strides for {n} sizes")
    shape = [int(s) for s in sizes] if static_sizes else [1 if s == 1 else -1 for s in sizes]
    # outermost first: larger strides first, ties keep the logical order
    outer_to_inner = sorted(range(n), key=lambda d: (-strides[d], d))
    stride_order = [0] * n
    for rank, d in enumerate(outer_to_inner):
        stride_order[d] = n - 1 - rank
    contiguity: List[Optional[bool]] = [None] * n
    expect = 1
    for d in reversed(outer_to_inner):
        if sizes[d] == 1:
            continue
        contiguity[d] = strides[d] == expect
        expect = strides[d] * sizes[d]
    default = outer_to_inner == list(range(n))
    return shape, contiguity, None if default else stride_order
