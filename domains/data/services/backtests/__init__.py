"""Backtesting in the data domain: runs, results, reproducibility, robustness and reports.

The computation is dsta.quant's (strategies, engine, metrics, robustness math); this package
orchestrates it over the candle store and the job workers:

- ``spec``: checks a request (strategy, parameters, config, style, series);
- ``candles``: loads the bars and refuses empty or gapped ranges, saying where the gaps are;
- ``runs``: start / execute / re-run a backtest; ``store`` and ``selectors`` write and read it;
- ``manifest`` and ``rerun``: code, data and result hashes, and the reproduction check;
- ``bias``: lookahead and warm-up checks reported with every run;
- ``optimize`` (+ ``search_space``), ``walkforward``, ``montecarlo``: robustness studies;
- ``analytics``: curves, rolling Sharpe, correlation; ``reports``: HTML and PDF reports.
"""
