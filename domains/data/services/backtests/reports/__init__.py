"""Backtest reports: content (content.py), HTML with inline SVG (html.py, svg.py), PDF via
matplotlib (pdf.py), and the job that renders and stores them (service.py)."""
