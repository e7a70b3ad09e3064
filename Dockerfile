# One image for every intake process: web (gunicorn), worker and beat (Celery) and the one-shot
# migration. docker-compose.yml picks the process with `command:`; the default is the web server.
FROM python:3.11-slim

# uv from PyPI, pinned, so the build needs nothing but the package index.
RUN pip install --no-cache-dir uv==0.13.9

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

WORKDIR /app

# Dependencies first, from the lock alone: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself (see .dockerignore for what stays out).
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# Run unprivileged. The code stays root-owned and read-only to the app; only the Flask instance
# folder is the app's to write.
RUN groupadd --system --gid 10001 intake \
    && useradd --system --uid 10001 --gid intake --create-home --home-dir /home/intake \
        --shell /usr/sbin/nologin intake \
    && mkdir -p /app/instance \
    && chown intake:intake /app/instance
# Numeric, so orchestrators can tell it is not root without reading /etc/passwd.
USER 10001:10001

# PROMETHEUS_MULTIPROC_DIR: gunicorn's workers share their request metrics through files in
# this folder, so /metrics counts every worker's requests (README: Metrics). gunicorn's config
# (intake.api.gunicorn_conf) creates and empties it at start.
ENV PATH=/app/.venv/bin:$PATH \
    INTAKE_ENV=production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/intake-metrics

EXPOSE 8000

# Liveness only (/healthz); readiness (/readyz) is checked by docker-compose.yml for web.
# slim has no curl, so Python's urllib does the request; any error or non-2xx exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# The access log goes to stdout; resume, unsubscribe and staff link tokens in it are masked.
CMD ["gunicorn", "--config", "python:intake.api.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-", "intake.wsgi:app"]
