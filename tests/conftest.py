"""Session-wide setup for the tests.

TRITON_INTERPRET=1 runs Triton kernels as NumPy on the CPU (tests/test_kernels.py). Triton reads it when
a kernel is defined, its own helper kernels (`tl.sum`, `tl.max`) included, and transformers may import
Triton early in the session: so it is set here, before any test module imports anything. No test uses
a GPU, so nothing else runs a Triton kernel.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")
