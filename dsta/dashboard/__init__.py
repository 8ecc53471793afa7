"""The web dashboard: one page of panels fed by the public REST and WebSocket endpoints.

Pure frontend (templates, JavaScript, CSS): it imports no domain, and everything it shows
comes through ``/api/v1/`` exactly as any other client would see it (docs/dashboard.md).
"""
