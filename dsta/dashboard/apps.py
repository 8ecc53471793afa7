from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dsta.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
