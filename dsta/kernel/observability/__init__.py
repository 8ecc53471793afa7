"""Request ids, structured logs, metrics and tracing hooks."""
