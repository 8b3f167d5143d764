"""The one place that knows how to drive a module implementing nvFuser's
direct API (``nvfuser_direct``, cfuser, the deliberately broken module):
find its types, build the fusions the checks use, make input tensors.

Every check goes through this adapter and through the documented API only:
``FusionDefinition`` as a context manager, ``fd.define_tensor``,
``fd.define_scalar``, ``fd.ops.<op>``, ``fd.add_output``, ``fd.execute``,
``fd.fusion``, ``FusionExecutorCache(fusion).execute``, and the node
accessors ``definition()``, ``uses()``, ``domain()``, ``axis(i)``,
``extent()``, ``input(i)``, ``output(i)``.
"""
from __future__ import annotations

import importlib

# Where a module keeps its node types: the package itself, then the
# submodules the known implementations use (cfuser.ir, nvfuser_direct's
# extension _C_DIRECT, cfuser._C).
_TYPE_HOMES = ("", "ir", "_C_DIRECT", "_C")


class Target:
    def __init__(self, module: str, device: str = "cpu", inputs: str = "numpy"):
        self.name = module
        self.device = device
        self.inputs = inputs
        self.m = importlib.import_module(module)
        self.FusionDefinition = self.m.FusionDefinition
        self.DataType = self.m.DataType

    # --- types ---------------------------------------------------------------
    def find_type(self, name: str):
        """The class called name, from the package or its usual submodules;
        None when the target has none."""
        for home in _TYPE_HOMES:
            mod = self.m if not home else getattr(self.m, home, None)
            cls = getattr(mod, name, None) if mod is not None else None
            if isinstance(cls, type):
                return cls
        return None

    def type_homes(self):
        out = []
        for home in _TYPE_HOMES:
            mod = self.m if not home else getattr(self.m, home, None)
            if mod is not None and mod not in out:
                out.append(mod)
        return out

    # --- fusions -------------------------------------------------------------
    @staticmethod
    def fusion_of(fd):
        """fd.fusion: a property in nvfuser_direct, the same in cfuser; a
        method in older front ends."""
        f = fd.fusion
        return f() if callable(f) and not hasattr(f, "inputs") else f

    def define_input(self, fd, ndim=2, dtype=None):
        return fd.define_tensor(shape=[-1] * ndim, contiguity=True,
                                dtype=self.DataType.Float if dtype is None else dtype)

    def small(self):
        """x[-1,-1], y[-1,-1] -> z = (x + y) * 0.5, w = neg(z): two inputs,
        two outputs, a scalar constant. Returns fd and its nodes."""
        with self.FusionDefinition() as fd:
            x = self.define_input(fd)
            y = self.define_input(fd)
            s = fd.define_scalar(0.5, dtype=self.DataType.Double)
            z = fd.ops.mul(fd.ops.add(x, y), s)
            w = fd.ops.neg(z)
            fd.add_output(z)
            fd.add_output(w)
        return fd, x, y, s, z

    def chain(self, length=12):
        """One input, a chain of elementwise ops: enough work per element for
        execute to take a while on a large input."""
        with self.FusionDefinition() as fd:
            x = self.define_input(fd, ndim=1)
            t = x
            for i in range(length):
                t = fd.ops.tanh(t) if i % 2 else fd.ops.sin(t)
            fd.add_output(t)
        return fd

    # --- tensors -------------------------------------------------------------
    def tensor(self, *shape, dtype="float32"):
        if self.inputs == "torch":
            import torch
            return torch.rand(*shape, dtype=getattr(torch, dtype), device=self.device)
        import numpy as np
        return np.random.default_rng(0).random(shape).astype(dtype)

    def synchronize(self):
        if self.inputs == "torch" and self.device.startswith("cuda"):
            import torch
            torch.cuda.synchronize()
