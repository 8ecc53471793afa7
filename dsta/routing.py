"""WebSocket routes of every domain, mounted by the composition root."""

from django.urls import URLPattern, URLResolver, path

from domains.core.consumers import ConfigWatchConsumer, NotificationStreamConsumer
from domains.data.consumers import CandleStreamConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/config/watch", ConfigWatchConsumer.as_asgi()),
    path("api/v1/notifications/stream", NotificationStreamConsumer.as_asgi()),
    path("api/v1/market-data/stream/<str:symbol>", CandleStreamConsumer.as_asgi()),
]
