from django.apps import AppConfig


class DataConfig(AppConfig):
    name = "domains.data"
    label = "data"
    default_auto_field = "django.db.models.BigAutoField"
