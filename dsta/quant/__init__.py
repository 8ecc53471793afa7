"""dsta.quant: pure computation shared by every domain (numpy/numba; no Django, no I/O)."""
