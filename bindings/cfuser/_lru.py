"""LRUCache: executor caches of fusions, shared by structurally equal fusions."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import List, Tuple

from cfuser import _C


class LRUCache:
    """At most ``max_fusions`` FusionExecutorCaches, least recently used evicted.

    ``cache_compile(fusion)`` returns the cache of a fusion structurally equal
    to ``fusion`` (same nodes, ops, attributes, inputs and outputs; see
    :meth:`cfuser.Fusion.structural_hash`) if one is held, else a new one.
    Safe to use from several threads.
    """

    def __init__(self, max_fusions: int) -> None:
        if isinstance(max_fusions, bool) or not isinstance(max_fusions, int):
            raise TypeError(f"LRUCache() argument 'max_fusions' must be int, not '{type(max_fusions).__name__}'")
        if max_fusions < 1:
            raise _C.InvalidArgumentError(f"LRUCache(): max_fusions must be >= 1, got {max_fusions}")
        self._max = max_fusions
        self._lock = threading.Lock()
        # hash -> the (fusion, cache) pairs of that hash, oldest use first by key
        self._entries: "OrderedDict[Tuple[int, int], Tuple[_C.Fusion, _C.FusionExecutorCache]]" = OrderedDict()
        self._serial = 0
        self.hits = 0
        self.misses = 0

    @property
    def max_fusions(self) -> int:
        """The most fusions held at once."""
        return self._max

    def cache_compile(self, fusion: _C.Fusion) -> _C.FusionExecutorCache:
        """The FusionExecutorCache for ``fusion`` (a hit on a structurally equal one)."""
        if not isinstance(fusion, _C.Fusion):
            raise TypeError(f"cache_compile() argument 'fusion' must be a cfuser.Fusion, not '{type(fusion).__name__}'")
        h = fusion.structural_hash()
        with self._lock:
            for key, (held, fec) in self._entries.items():
                if key[0] == h and held.structurally_equal(fusion):
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return fec
            self.misses += 1
            fec = _C.FusionExecutorCache(fusion)
            self._serial += 1
            self._entries[(h, self._serial)] = (fusion, fec)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
            return fec

    def num_fusions(self) -> int:
        """How many fusions are held."""
        with self._lock:
            return len(self._entries)

    def fusions(self) -> List[_C.Fusion]:
        """The fusions held, least recently used first."""
        with self._lock:
            return [f for f, _ in self._entries.values()]

    def clear(self) -> None:
        """Drop every held cache."""
        with self._lock:
            self._entries.clear()

    def __repr__(self) -> str:
        return f"<cfuser.LRUCache {self.num_fusions()}/{self._max} fusions, {self.hits} hits, {self.misses} misses>"
