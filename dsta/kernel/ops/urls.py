"""Routes of the operations endpoints, mounted at the root by the composition root."""

from django.urls import path

from dsta.kernel.ops.metrics import metrics
from dsta.kernel.ops.views import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]
