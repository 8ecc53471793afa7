from django.apps import AppConfig


class MlConfig(AppConfig):
    name = "domains.ml"
    label = "ml"
    default_auto_field = "django.db.models.BigAutoField"
