"""The native int8 kernel computes exact integer dot products of int16-rounded rows."""

import pytest
import torch

from specwhisper import kernels

pytestmark = pytest.mark.skipif(
    not kernels.available(), reason=f"int8 kernel unavailable: {kernels.unavailable_reason()}"
)


def _quantized(outputs: int, width: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randint(-127, 128, (outputs, width), dtype=torch.int8, generator=generator)
    scale = torch.rand(outputs, generator=generator) * 0.01 + 1e-4
    bias = torch.randn(outputs, generator=generator)
    return weight, scale, bias


def _reference(rows, weight, scale, bias):
    """The kernel's arithmetic in float64: each row rounded to int16 with its own scale
    (the largest magnitude maps to qmax, chosen so that int32 sums cannot overflow)."""
    width = rows.shape[1]
    qmax = float(min(32767, (2**31 - 1) // (127 * width)))
    amax = rows.abs().amax(dim=1, keepdim=True)  # float32 throughout, as the kernel
    row_scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    quantized = torch.round(rows * (1.0 / row_scale)).double()
    row_scale = row_scale.double()
    exact = quantized @ weight.double().T  # integers: exact in float64
    out = exact * row_scale * scale.double()
    return out + bias.double() if bias is not None else out


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 11])
@pytest.mark.parametrize(
    ("outputs", "width"), [(1, 32), (7, 64), (9, 384), (1536, 512), (515, 2048)]
)
def test_equals_integer_arithmetic(count, outputs, width):
    weight, scale, bias = _quantized(outputs, width)
    rows = torch.randn(count, width)
    got = kernels.int8_linear(rows, weight, scale, bias)
    expected = _reference(rows, weight, scale, bias)
    assert got.shape == (count, outputs)
    assert torch.allclose(got.double(), expected, rtol=1e-5, atol=1e-5)


def test_close_to_the_float_product_and_without_bias():
    """int16 rows lose ~15 bits: the result is the float product of the int8 weight to ~1e-4."""
    weight, scale, _ = _quantized(2048, 512, seed=1)
    rows = torch.randn(3, 512)
    got = kernels.int8_linear(rows, weight, scale, None)
    exact = rows.double() @ (weight.double() * scale.double()[:, None]).T
    assert (got.double() - exact).abs().max() <= 1e-4 * exact.abs().max()


def test_no_overflow_at_the_extremes():
    """Every product at its largest, for the widest layer: the int16 range keeps sums in int32."""
    width = 4096
    weight = torch.full((16, width), 127, dtype=torch.int8)
    scale = torch.ones(16)
    rows = torch.full((2, width), 3.5)
    rows[1] = -3.5
    got = kernels.int8_linear(rows, weight, scale, None)
    assert torch.allclose(got[0], torch.full((16,), 127 * 3.5 * width), rtol=1e-4)
    assert torch.allclose(got[1], torch.full((16,), -127 * 3.5 * width), rtol=1e-4)


def test_zero_rows_give_the_bias():
    weight, scale, bias = _quantized(40, 64)
    assert torch.equal(kernels.int8_linear(torch.zeros(2, 64), weight, scale, bias)[1], bias)


def test_one_thread_and_two_agree_exactly():
    weight, scale, bias = _quantized(51865 // 7, 512)
    rows = torch.randn(2, 512)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = kernels.int8_linear(rows, weight, scale, bias)
        torch.set_num_threads(2)
        split = kernels.int8_linear(rows, weight, scale, bias)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(alone, split)


def test_bad_arguments_are_refused():
    weight, scale, bias = _quantized(8, 48)  # 48: not a multiple of 32
    with pytest.raises(ValueError, match="multiple of 32"):
        kernels.int8_linear(torch.randn(1, 48), weight, scale, bias)
    weight, scale, bias = _quantized(8, 64)
    with pytest.raises(ValueError, match="float32"):
        kernels.int8_linear(torch.randn(1, 64).double(), weight, scale, bias)
    with pytest.raises(ValueError, match="float32"):
        kernels.int8_linear(torch.randn(1, 32), weight, scale, bias)  # width mismatch
    with pytest.raises(ValueError, match="float32"):
        kernels.int8_linear(torch.randn(64, 2).T, weight, scale, bias)  # not contiguous


def test_a_missing_compiler_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "no-such-compiler-here")
    monkeypatch.setenv("SPECWHISPER_CACHE", str(tmp_path))
    with pytest.raises(RuntimeError, match="no C compiler 'no-such-compiler-here'"):
        kernels._build()


def test_the_library_is_cached_by_source(monkeypatch, tmp_path):
    monkeypatch.setenv("SPECWHISPER_CACHE", str(tmp_path))
    built = kernels._build()
    assert built.parent == tmp_path / "kernels" and built.exists()
    assert kernels._build() == built  # found, not rebuilt
    assert list(built.parent.iterdir()) == [built]  # no partial file left behind


def test_fewer_threads_than_asked_still_compute_every_channel():
    """OpenMP may grant one thread where two were asked (here: OMP_THREAD_LIMIT=1 in a fresh
    process); the one thread then computes both halves."""
    import subprocess
    import sys

    code = (
        "import torch; from specwhisper import kernels\n"
        "w = torch.randint(-127, 128, (4096, 64), dtype=torch.int8)\n"
        "x = torch.randn(1, 64); s = torch.rand(4096)\n"
        "torch.set_num_threads(1)\n"
        "alone = kernels.int8_linear(x, w, s, None)\n"
        "torch.set_num_threads(2)\n"
        "assert torch.equal(kernels.int8_linear(x, w, s, None), alone)\n"
    )
    env = {**__import__("os").environ, "OMP_THREAD_LIMIT": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
