"""Ways out of the core domain to the world: the notification channels (SMTP, Telegram Bot
API, webhooks, the in-app WebSocket push). Each raises ``TransientDeliveryError`` (worth
retrying) or ``PermanentDeliveryError`` (retrying cannot help)."""
