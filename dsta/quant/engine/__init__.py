"""The backtesting engine: a compiled fill simulation shared by every strategy style.

Import the public names from :mod:`dsta.quant`; the submodules are ``config`` (settings),
``run`` (``run_backtest``), ``result``, ``event`` (the Python and jitted callback paths),
``loops`` and ``kernel`` (compiled), ``nb_api`` (order API for jitted callbacks), ``layout``.
This package imports nothing on its own, so ``dsta.quant.signals`` can use ``layout`` without
an import cycle.
"""
