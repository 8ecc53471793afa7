"""Resilience of venue calls: rate limits, retries, circuit breakers, failover, health.

``ratelimit`` (GCRA buckets in Redis or in-process), ``breaker``, ``retry``, ``failover`` and
``health`` are small parts with injected clocks; ``runtime`` puts them together per venue and
``hooks``/``guard`` apply them to each HTTP request and to each api operation.
"""
