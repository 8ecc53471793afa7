# syntax=docker/dockerfile:1
# DSTA image: one image for every process (web, worker, scheduler, relay, consumer).
#   docker build -t dsta .                                  (extras: --build-arg DSTA_EXTRAS=otel,ml)
# The web process is the default command; the others pass `python manage.py <command>`.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: build the project wheel and install it, with its dependencies, into a venv ---
FROM ${PYTHON_IMAGE} AS builder
ARG DSTA_EXTRAS=otel
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY dsta ./dsta
COPY domains ./domains
# DL3013 (pin versions) reads "$1" as a package name: it is the wheel just built here.
# hadolint ignore=DL3013
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && set -- /wheels/dsta-*.whl \
    && pip install --no-cache-dir "$1[${DSTA_EXTRAS}]"

# --- runtime: the venv, manage.py and collected static files; runs as an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=dsta.settings \
    DSTA_ENV=production \
    DSTA_VAR_DIR=/app/var \
    DSTA_STATIC_ROOT=/app/static
RUN groupadd --system --gid 10001 dsta \
    && useradd --system --uid 10001 --gid dsta --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin dsta
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY manage.py ./
COPY dsta/kernel/ops/uvicorn-logging.json ./uvicorn-logging.json
# Static files are collected at build time (whitenoise serves them); the settings need a key
# and hosts to load in production mode, which a build has no business knowing.
RUN DSTA_ENV=local SECRET_KEY=collectstatic-only DSTA_VAR_DIR=/tmp/dsta-build \
       python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/dsta-build \
    && mkdir -p /app/var \
    && chown dsta:dsta /app/var
USER 10001:10001
VOLUME ["/app/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# uvicorn's own loggers propagate into Django's JSON log handler (uvicorn-logging.json);
# WEB_CONCURRENCY sets the number of worker processes.
CMD ["uvicorn", "dsta.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--proxy-headers", "--forwarded-allow-ips", "*", "--log-config", "/app/uvicorn-logging.json"]
