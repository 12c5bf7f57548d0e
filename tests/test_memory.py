"""A kernel's peak memory and the CUDA libraries' part of it (synthbook.tools.memory)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from synthbook.tools import memory
from synthbook.tools.execution import Run, run_notebooks

REPO = Path(__file__).resolve().parents[1]
SITE = "/venv/lib/python3.11/site-packages"
CUDA_TORCH = torch.version.cuda is not None and sys.platform == "linux"
#: A Python with a CPU-only torch and ipykernel, to compare with (skipped without).
CPU_PYTHON = os.environ.get("SYNTHBOOK_CPU_PYTHON", "/tmp/cpuvenv/bin/python")


def _notebook(*cells: str, kernel: str = "python3") -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": kernel, "display_name": kernel}},
    )


def _ok(run: Run) -> Run:
    assert run.error is None, run.traceback
    return run


# Which libraries count ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"{SITE}/nvidia/cu13/lib/libcublasLt.so.13",
        f"{SITE}/nvidia/cudnn/lib/libcudnn.so.9",
        f"{SITE}/nvidia/cusparselt/lib/libcusparseLt.so.0",
        f"{SITE}/torch/lib/libtorch_cuda.so",
        f"{SITE}/torch/lib/libc10_cuda.so",
        f"{SITE}/triton/_C/libtriton.so",
        f"{SITE}/cuda/bindings/driver.cpython-311-x86_64-linux-gnu.so",
        "/opt/conda/lib/libcublas.so.12.4.5.8",  # a conda CUDA build keeps them in lib/
        "/opt/conda/lib/libnvrtc-builtins.so.12.4",
    ],
)
def test_the_cuda_libraries_of_a_torch_build_count(path: str) -> None:
    assert memory.is_cuda_library(path)


@pytest.mark.parametrize(
    "path",
    [
        f"{SITE}/torch/lib/libtorch_cpu.so",
        f"{SITE}/torch/lib/libc10.so",
        f"{SITE}/torch/lib/libtorch_python.so",
        f"{SITE}/torch/lib/libgomp.so.1",
        f"{SITE}/numpy.libs/libscipy_openblas64_-32a4b2a6.so",
        f"{SITE}/torchvision/_C.so",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "[heap]",
    ],
)
def test_what_a_cpu_only_torch_also_loads_does_not_count(path: str) -> None:
    assert not memory.is_cuda_library(path)


@pytest.mark.skipif(not CUDA_TORCH, reason="needs PyPI's CUDA build of torch")
def test_the_cuda_pages_of_this_process_are_found() -> None:
    pages, paths = memory.cuda_library_pages()
    names = {Path(p).name for p in paths}
    assert "libtorch_cuda.so" in names
    assert any(name.startswith("libcublasLt") for name in names)
    assert pages > 100e6, "PyPI's torch maps a few hundred MB of CUDA libraries"


def test_a_process_that_is_gone_is_an_oserror() -> None:
    child = subprocess.run([sys.executable, "-c", "pass"], check=True)
    with pytest.raises(OSError):
        memory.cuda_library_pages(2**22 + child.returncode + 7)


# What the libraries allocate when loaded ------------------------------------------------


def test_no_cuda_library_allocates_nothing() -> None:
    assert memory.load_allocation_mb([]) == 0.0


def test_a_library_the_probe_cannot_load_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "libcublasLt.so.13"
    broken.write_bytes(b"not a library")
    with pytest.raises(RuntimeError, match="libcublasLt.so.13"):
        memory.load_allocation_mb([str(broken)])


@pytest.mark.skipif(not CUDA_TORCH, reason="needs PyPI's CUDA build of torch")
def test_cublaslt_allocates_tens_of_mb_when_loaded() -> None:
    _, paths = memory.cuda_library_pages()
    cublaslt = [p for p in paths if Path(p).name.startswith("libcublasLt")]
    everything = memory.load_allocation_mb(paths)
    alone = memory.load_allocation_mb(cublaslt)
    assert 30 < alone < 300, "cuBLASLt's initialisers keep about 90 MB"
    assert everything >= alone - 5


def test_the_probe_does_not_count_torch_own_cpu_libraries() -> None:
    spec = importlib.util.find_spec("torch")
    assert spec is not None and spec.submodule_search_locations
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    cpu = lib / "libtorch_cpu.so"
    if not cpu.is_file():
        pytest.skip("torch's libraries are not laid out as in the PyPI wheel")
    # libtorch_cpu is loaded before torch's CUDA libraries and its own allocations
    # (tens of MB) are left out: asking for no CUDA library of torch costs nothing.
    probe = subprocess.run(
        [sys.executable, "-c", memory._PROBE, json.dumps([[str(cpu)], [], []])],
        capture_output=True,
        text=True,
        check=True,
    )
    # A stray page or two may be touched; tens of MB would be torch's own library.
    assert json.loads(probe.stdout)["bytes"] < 2**20


# A kernel, measured -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_kernel_that_allocates_300_mb_is_measured_within_15_mb_cell_by_cell() -> None:
    setup = "import numpy as np"
    quiet = "x = 1"
    # 300 MB held across cells, then 300 MB more that lives only inside one cell.
    held = "held = np.ones(37_500_000)  # 300 MB, every page written"
    brief = "brief = np.ones(37_500_000); brief.sum(); del brief"
    base, grown, transient = (
        _ok(run)
        for run in run_notebooks(
            [
                _notebook(setup, quiet, quiet),
                _notebook(setup, held, quiet),
                _notebook(setup, held, brief, quiet),
            ],
            workers=1,
        )
    )
    for run in (base, grown, transient):
        assert run.cpu_peak_mb is not None and run.cuda_mb == 0.0, "numpy: no CUDA"
        # The highest cell is at most the exact peak, which includes the shutdown
        # (for an idle kernel, ipykernel's shutdown is its peak).
        assert run.cpu_peak_mb <= run.peak_rss_mb <= run.cpu_peak_mb + 40
    # With no CUDA library, the CPU-only figure is the highest cell's exact peak.
    assert grown.cpu_peak_mb - base.cpu_peak_mb == pytest.approx(300, abs=15)
    assert transient.cpu_peak_mb - base.cpu_peak_mb == pytest.approx(600, abs=15)
    assert grown.peak_rss_mb - base.peak_rss_mb == pytest.approx(300, abs=40)
    assert (grown.peak_cell, transient.peak_cell) == (1, 2), "the cells that grew"


@pytest.mark.slow
@pytest.mark.skipif(not CUDA_TORCH, reason="needs PyPI's CUDA build of torch")
def test_a_torch_kernel_has_a_cuda_part_and_a_smaller_cpu_only_peak() -> None:
    (run,) = run_notebooks([_notebook("import torch", "torch.ones(10).sum()")])
    _ok(run)
    assert run.cuda_mb is not None and run.cpu_peak_mb is not None
    assert run.cuda_mb > 200, "PyPI's torch: CUDA pages plus cuBLASLt & co."
    assert any("libtorch_cuda" in path for path in run.cuda_libraries)
    assert run.cpu_peak_mb + run.cuda_mb <= run.peak_rss_mb + 1


def _cpu_kernel(folder: Path) -> Path:
    spec = folder / "kernels" / "cpu-torch"
    spec.mkdir(parents=True)
    argv = [CPU_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "CPU torch", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    return folder


WORKLOAD = (
    "import numpy as np\nimport torch\nfrom torch import nn\ntorch.set_num_threads(1)",
    "rng = np.random.default_rng(0)\n"
    "x = torch.from_numpy(rng.random((5000, 784), dtype=np.float32))\n"
    "y = torch.from_numpy(rng.integers(0, 10, 5000))",
    "model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))\n"
    "opt = torch.optim.Adam(model.parameters(), lr=1e-3)",
    "for step in range(200):\n"
    "    i = torch.randint(0, 5000, (64,))\n"
    "    loss = nn.functional.cross_entropy(model(x[i]), y[i])\n"
    "    opt.zero_grad(); loss.backward(); opt.step()",
    "block = torch.ones(50_000_000); block.sum(); del block  # 200 MB",
)


@pytest.mark.slow
@pytest.mark.skipif(not CUDA_TORCH, reason="needs PyPI's CUDA build of torch")
@pytest.mark.skipif(
    not Path(CPU_PYTHON).is_file(),
    reason="set SYNTHBOOK_CPU_PYTHON to a Python with a CPU-only torch and ipykernel",
)
def test_the_cpu_only_estimate_is_close_to_a_cpu_only_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(_cpu_kernel(tmp_path)))
    here, cpu = (
        _ok(run)
        for run in run_notebooks(
            [_notebook(*WORKLOAD), _notebook(*WORKLOAD, kernel="cpu-torch")],
            workers=1,
        )
    )
    # Under a CPU-only torch there is nothing to subtract.
    assert cpu.cuda_mb == 0.0 and cpu.cuda_libraries == []
    assert here.cuda_mb is not None and here.cuda_mb > 200
    # Measured here (torch 2.14.1+cu130 against 2.13.0+cpu): the estimate is about
    # 110 MB high, torch's own CPU library being larger in the CUDA build. Without
    # what the libraries allocate when loaded it would be about 250 MB high;
    # subtracting anything twice would make it low.
    error = here.cpu_peak_mb - cpu.peak_rss_mb
    assert -30 < error < 180, (
        f"estimate {here.cpu_peak_mb:.0f} MB, CPU-only {cpu.peak_rss_mb:.0f} MB"
    )
    assert here.peak_cell == cpu.peak_cell == 4, "both peak in the 200 MB cell"


@pytest.mark.slow
def test_a_kernel_started_through_a_wrapper_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kernel spec that starts the kernel from a shell which stays its parent (as
    # an environment-activating wrapper may): the kernel is a grandchild.
    spec = tmp_path / "kernels" / "wrapped"
    spec.mkdir(parents=True)
    launch = f"{sys.executable} -m ipykernel_launcher -f {{connection_file}}; true"
    kernel = {
        "argv": ["/bin/sh", "-c", launch],
        "display_name": "w",
        "language": "python",
    }
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    cells = ("import numpy as np", "held = np.ones(37_500_000)  # 300 MB")
    (run,) = run_notebooks([_notebook(*cells, kernel="wrapped")])
    _ok(run)
    assert run.cpu_peak_mb is not None and run.cpu_peak_mb > 300
    assert run.peak_cell == 1


# bench memory -----------------------------------------------------------------------------


def test_imports_only_keeps_every_import_statement_once() -> None:
    from synthbook.tools.bench.memory import imports_only

    nb = _notebook(
        "%matplotlib inline\nimport numpy as np\nx = np.ones(3)",
        "from pathlib import Path\nimport numpy as np\nif x.sum():\n    import json",
        "def broken(:",
    )
    (cell,) = imports_only(nb).cells
    assert cell.source == "import numpy as np\nfrom pathlib import Path"


@pytest.mark.slow
def test_bench_memory_finds_what_a_notebook_adds_to_its_imports(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthbook.tools.bench import memory as bench

    monkeypatch.delenv("SYNTHBOOK_CPU_PYTHON", raising=False)
    page = (
        "---\njupytext:\n  text_representation:\n    extension: .md\n"
        "    format_name: myst\n    format_version: 0.13\nkernelspec:\n"
        "  display_name: Python 3\n  language: python\n  name: python3\n---\n"
    )
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/big\n", encoding="utf-8"
    )
    (tmp_path / "_config.yml").write_text("title: tiny\n", encoding="utf-8")
    (tmp_path / "exercises" / "src").mkdir(parents=True)
    cells = ["import numpy as np", "x = np.ones(50_000_000)  # 400 MB\nx.sum()"]
    body = "".join(f"\n```{{code-cell}} ipython3\n{c}\n```\n" for c in cells)
    (tmp_path / "book" / "big.md").write_text(f"{page}\n# Big\n{body}", "utf-8")
    table = bench.bench_memory(tmp_path)
    runs = table["book/big"]
    own = runs["here"].cpu_peak_mb - runs["imports"].cpu_peak_mb
    assert own == pytest.approx(400, abs=20)
    line = next(
        x for x in capsys.readouterr().out.splitlines() if x.startswith("book/big")
    )
    assert "own over 300 MB" in line and "cell 2: x = np.ones" in line
