"""Numba's on-disk cache, keyed by the source of the whole package.

Numba keeps a compiled function until the file that defines it changes. The engine's loops
(``engine/loops.py``) inline the kernel (``engine/kernel.py``) and the layout constants
(``engine/layout.py``), so a release or an edit that changes only those files would keep
running the old machine code from the cache, silently. The cache therefore lives in a
directory named by a hash of every ``.py`` file of ``dsta/quant``: any change to the package
starts a fresh one. ``NUMBA_CACHE_DIR``, when the operator sets it, is left alone.

Importing this module configures the cache: ``dsta/quant/__init__.py`` imports it first.
"""

import hashlib
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def source_digest(package: Path = PACKAGE) -> str:
    """A hash of the package's Python sources (relative paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "tests" in path.relative_to(package).parts:
            continue  # tests are not compiled into the engine
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def configure_numba_cache(package: Path = PACKAGE) -> str:
    """Point numba's cache at ``<package>/__pycache__/numba-<digest>`` unless
    ``NUMBA_CACHE_DIR`` is set; the directory in use. Call it before any jitted function of
    the package is defined: numba reads the setting when a function is decorated."""
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if chosen:
        return chosen
    target = str(package / "__pycache__" / f"numba-{source_digest(package)}")
    # Through the environment, so numba's own config reloads keep it (and worker
    # processes started from here inherit it).
    os.environ["NUMBA_CACHE_DIR"] = target
    from numba.core import config

    config.reload_config()
    return target


CACHE_DIR = configure_numba_cache()
