"""The paper exchange: a matching simulation against real or modelled order books.

``engine`` holds the pure logic (no Django, no I/O); ``service`` loads and saves it through the
database in one transaction and publishes the same events a real venue produces.
"""
