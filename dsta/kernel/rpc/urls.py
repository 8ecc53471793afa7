"""Mounts the internal RPC endpoint; the composition root includes this module."""

from django.urls import path

from dsta.kernel.rpc.endpoint import api

urlpatterns = [path("internal/rpc/", api.urls)]
