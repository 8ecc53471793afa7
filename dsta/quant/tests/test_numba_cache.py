"""numba's cache follows the package's whole source, not only each function's own file."""

import os
import shutil
from pathlib import Path

import pytest

from dsta.quant import numba_cache
from dsta.quant.engine import loops


def copy_of_package(tmp_path: Path) -> Path:
    copy = tmp_path / "quant"
    shutil.copytree(numba_cache.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_any_source_change_of_the_package_names_a_new_cache(tmp_path: Path) -> None:
    package = copy_of_package(tmp_path)
    before = numba_cache.source_digest(package)
    assert numba_cache.source_digest(package) == before  # stable

    # An edit to the inlined kernel alone: numba would not notice it in loops.py's cache.
    kernel = package / "engine" / "kernel.py"
    kernel.write_text(kernel.read_text() + "\n# changed\n")
    after_kernel = numba_cache.source_digest(package)
    assert after_kernel != before

    (package / "tests" / "test_new.py").write_text("def test_x() -> None: ...\n")
    assert numba_cache.source_digest(package) == after_kernel  # tests are not compiled in


def test_the_operators_cache_dir_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert numba_cache.configure_numba_cache() == str(tmp_path / "mine")


def test_without_one_the_cache_is_named_by_the_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = copy_of_package(tmp_path)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    chosen = numba_cache.configure_numba_cache(package)
    assert chosen == str(package / "__pycache__" / f"numba-{numba_cache.source_digest(package)}")
    assert os.environ["NUMBA_CACHE_DIR"] == chosen
    from numba.core import config

    assert chosen == getattr(config, "CACHE_DIR")  # noqa: B009 (numba sets it at runtime)
    monkeypatch.undo()  # the process's own cache directory again
    config.reload_config()
    assert getattr(config, "CACHE_DIR") == numba_cache.CACHE_DIR  # noqa: B009


def test_the_engine_loops_are_cached_under_the_package_digest() -> None:
    # numba's locator, resolved when the function was decorated (private, hence getattr)
    cache_path = getattr(loops.run_signals, "_cache")._cache_path  # noqa: B009
    assert Path(cache_path).is_relative_to(numba_cache.CACHE_DIR)
    assert numba_cache.source_digest() in numba_cache.CACHE_DIR
