"""WebSocket routes of every domain, mounted by the composition root."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
