"""Operations endpoints: liveness, readiness, Prometheus metrics, and the request body limit."""
