"""Fusions and their executor caches."""
from cfuser._C import Fusion, FusionExecutorCache, FusionGuard

__all__ = ["Fusion", "FusionExecutorCache", "FusionGuard"]
