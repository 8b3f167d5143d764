"""Node types of the fusion IR."""
from cfuser._C import Expr, IterDomain, Scalar, TensorDomain, TensorView, Val

__all__ = ["Expr", "IterDomain", "Scalar", "TensorDomain", "TensorView", "Val"]
