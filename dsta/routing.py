"""WebSocket routes of every domain, mounted by the composition root."""

from django.urls import URLPattern, URLResolver, path

from domains.core.consumers import ConfigWatchConsumer, NotificationStreamConsumer
from domains.data.consumers import CandleStreamConsumer
from domains.exchange.consumers import ExchangeStreamConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/config/watch", ConfigWatchConsumer.as_asgi()),
    path("api/v1/notifications/stream", NotificationStreamConsumer.as_asgi()),
    path("api/v1/market-data/stream/<str:symbol>", CandleStreamConsumer.as_asgi()),
    path("api/v1/exchange/<str:venue>/stream", ExchangeStreamConsumer.as_asgi()),
]
