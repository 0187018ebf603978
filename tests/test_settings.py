"""Process-wide torch settings: the engine and the benchmark change them only for as long as they need
them, and leave them as they found them."""

import pytest
import torch

from swa_demo import attention, bench_gpu


def test_compiling_flex_attention_leaves_the_recompile_limit_alone(monkeypatch):
    compiled = []
    monkeypatch.setattr(attention.Flex, "compiled", None)  # restored after the test
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: compiled.append(kw) or fn)  # no CPU compile
    before = torch._dynamo.config.recompile_limit
    attention.compile_flex()
    assert compiled == [{"dynamic": False}] and attention.Flex.compiled is not None
    assert torch._dynamo.config.recompile_limit == before


def test_the_raised_recompile_limit_holds_inside_the_call_only():
    seen = []
    before = torch._dynamo.config.recompile_limit
    fn = attention.with_recompile_limit(lambda x: seen.append(torch._dynamo.config.recompile_limit) or x,
                                        before + 56)
    assert fn(3) == 3 and seen == [before + 56]
    assert torch._dynamo.config.recompile_limit == before


@pytest.mark.parametrize("was", [True, False])
@pytest.mark.parametrize("fails", [False, True])
def test_the_fast_path_checks_restore_tf32_even_when_they_fail(monkeypatch, was, fails):
    """The float32 checks need TF32 off; afterwards the setting is what it was, not forced on."""
    seen = []

    def checks():
        seen.append(torch.backends.cuda.matmul.allow_tf32)
        if fails:
            raise RuntimeError("a fast path broke")
        return []

    monkeypatch.setattr(bench_gpu, "_check_fast_paths", checks)
    # Set and restored by hand: the flag is a property of torch's cuBLAS module, which monkeypatch
    # (pytest 9.2) would try to delete on undo.
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = was
    try:
        if fails:
            with pytest.raises(RuntimeError):
                bench_gpu.check_fast_paths()
        else:
            assert bench_gpu.check_fast_paths() == []
        assert seen == [False] and torch.backends.cuda.matmul.allow_tf32 is was
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
