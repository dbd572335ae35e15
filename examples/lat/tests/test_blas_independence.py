"""The chain's bytes do not depend on which BLAS kernel numpy's OpenBLAS picks.

OpenBLAS chooses its kernels by CPU at load time, and OPENBLAS_CORETYPE overrides the choice: a host shell
that sets it (one here sets ``Haswell``) while a container does not gave recon outputs that differed in the
last bit of the track direction. The example therefore computes its 3-vector products without BLAS
(``lat.framework.portable.dot3``/``norm3``/``rotate3``). This runs simulate → digi → recon in fresh
interpreters under two different kernels and compares the bytes. On a CPU where a kernel is unknown
OpenBLAS falls back to its detected one, and the two runs are then trivially equal.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

from lat.framework import portable

KERNELS = ("Haswell", "Prescott")  # AVX2 and plain SSE3 x86-64 kernels of OpenBLAS's DYNAMIC_ARCH builds


def _chain(directory, kernel: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    directory.mkdir()
    steps = [
        ["simulate", "-n", "800", "--seed", "11", "-o", "raw=raw.ldf", "-o", "truth=mc.root"],
        ["digi", "-s", "raw.ldf", "-o", "digi.root"],
        ["recon", "-s", "digi.root", "-o", "recon.root"],
    ]
    for args in steps:
        result = run_cli([*args, "-q"], directory, env={"OPENBLAS_CORETYPE": kernel})
        assert result.returncode == 0, result.stderr
    return {name: (directory / name).read_bytes() for name in ("mc.root", "digi.root", "recon.root")}


def test_the_chain_is_the_same_under_two_blas_kernels(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first, second = (_chain(tmp_path / kernel, kernel) for kernel in KERNELS)
    assert [name for name in first if first[name] != second[name]] == []


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)])
def test_vector_helpers_sum_in_one_order(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=shape), rng.normal(size=shape)
    expected = (a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]) + a[..., 2] * b[..., 2]
    assert np.array_equal(portable.dot3(a, b), expected)
    assert np.array_equal(portable.norm3(a), np.sqrt(portable.dot3(a, a)))
    matrix = rng.normal(size=(3, 3))
    rotated = portable.rotate3(a, matrix)
    assert rotated.shape == a.shape
    assert np.allclose(rotated, a @ matrix, rtol=1e-14, atol=1e-14)  # the same product, up to rounding
