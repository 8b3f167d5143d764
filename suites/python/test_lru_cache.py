"""LRUCache and the structural identity of fusions it keys on."""

from __future__ import annotations

import threading

import pytest
import torch

from conftest import cfuser

from cfuser import DataType, FusionDefinition, LRUCache


def build(scale=2.0, dtype=DataType.Float, dims=(1,), shape=(-1, -1), out_twice=False):
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=list(shape), dtype=dtype)
        y = fd.ops.mul(x, scale)
        fd.add_output(fd.ops.sum(y, dims=list(dims)))
        if out_twice:
            fd.add_output(y)
    return fd.fusion


def test_equal_definitions_are_structurally_equal():
    a, b = build(), build()
    assert a is not b
    assert a.structurally_equal(b) and b.structurally_equal(a) and a.structurally_equal(a)
    assert a.structural_hash() == b.structural_hash()
    assert isinstance(a.structural_hash(), int) and 0 <= a.structural_hash() < 2**64


@pytest.mark.parametrize("change", [
    dict(scale=3.0), dict(scale=-0.0), dict(dtype=DataType.Double), dict(dims=(0,)), dict(shape=(-1, 4)),
    dict(out_twice=True),
])
def test_any_change_makes_another_fusion(change):
    a, b = build(), build(**change)
    assert not a.structurally_equal(b)
    assert a.structural_hash() != b.structural_hash()


def test_contiguity_and_stride_order_count():
    def one(**kw):
        with FusionDefinition() as fd:
            fd.add_output(fd.ops.neg(fd.define_tensor(shape=[-1, -1], **kw)))
        return fd.fusion
    base = one()
    assert base.structurally_equal(one())
    assert not base.structurally_equal(one(contiguity=[False, True]))
    assert not base.structurally_equal(one(stride_order=[0, 1]))


def test_a_fusion_grows_out_of_equality():
    a, b = build(), build()
    with cfuser.FusionGuard(b):
        b.add_output(cfuser.ops.neg(b.inputs()[0]))
    assert not a.structurally_equal(b)


def test_structurally_equal_needs_a_fusion():
    with pytest.raises(TypeError, match="Fusion"):
        build().structurally_equal("x")


def test_cache_compile_hits_on_an_equal_fusion():
    cache = LRUCache(max_fusions=4)
    fec = cache.cache_compile(build())
    assert isinstance(fec, cfuser.FusionExecutorCache)
    assert cache.cache_compile(build()) is fec
    assert cache.num_fusions() == 1 and (cache.hits, cache.misses) == (1, 1)
    x = torch.randn(3, 5)
    (out,) = cache.cache_compile(build()).execute([x])
    torch.testing.assert_close(out, (x * 2).sum(1))


def test_eviction_drops_the_least_recently_used():
    cache = LRUCache(2)
    f1 = cache.cache_compile(build(scale=1.0))
    cache.cache_compile(build(scale=2.0))
    assert cache.cache_compile(build(scale=1.0)) is f1  # 1.0 is now the most recent
    cache.cache_compile(build(scale=3.0))  # evicts 2.0
    assert cache.num_fusions() == 2
    scales = sorted(f.exprs()[0].input(1).value() for f in cache.fusions())
    assert scales == [1.0, 3.0]
    assert cache.cache_compile(build(scale=1.0)) is f1
    misses = cache.misses
    cache.cache_compile(build(scale=2.0))
    assert cache.misses == misses + 1
    cache.clear()
    assert cache.num_fusions() == 0


@pytest.mark.parametrize("bad,err", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
                                     ("3", TypeError)])
def test_max_fusions_is_checked(bad, err):
    with pytest.raises(err, match="max_fusions"):
        LRUCache(bad)


def test_cache_compile_needs_a_fusion():
    with pytest.raises(TypeError, match="cfuser.Fusion"):
        LRUCache(1).cache_compile(object())


def test_threads_share_one_cache():
    cache = LRUCache(3)
    got = []

    def work():
        for s in (1.0, 2.0, 1.0):
            got.append(cache.cache_compile(build(scale=s)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.num_fusions() == 2 and len(set(map(id, got))) == 2
    assert cache.hits + cache.misses == 12 and cache.misses == 2
