# syntax=docker/dockerfile:1
#
# medwaste: the API server and its web front, as a slim non-root image.
#
#   make web && docker build -t medwaste .      # `make image`: the same without a daemon
#   docker run -p 8000:8000 -v medwaste-data:/data medwaste                       # SQLite in /data
#   docker run -p 8000:8000 -e DATABASE_URL=postgresql+psycopg://user:pw@db:5432/medwaste \
#       -e MEDWASTE_ENV=production -e MEDWASTE_JWT_SECRET=... -e MEDWASTE_LABEL_SIGNING_KEY="$(cat key.pem)" \
#       -e MEDWASTE_LOG_SIGNING_KEY="$(cat log-key.pem)" -e MEDWASTE_LOG_ORIGIN=host.example/api/v1/log \
#       medwaste
#
# Configured by environment only: MEDWASTE_* settings (service/config.py) and DATABASE_URL.
# Behind a reverse proxy, set MEDWASTE_TRUSTED_PROXIES to its address or network (e.g.
# 172.18.0.0/16): the app reads X-Forwarded-For from those peers only (uvicorn's own proxy
# parsing is off, FORWARDED_ALLOW_IPS is not used), for login throttling and the audit log.
# On start it runs `medwaste migrate`, then `medwaste serve` on 0.0.0.0:$PORT (default 8000).
# In development mode (the default) the JWT secret and label-signing key are generated into
# /data on first start: keep /data on a volume or every restart invalidates tokens and labels.

# --- The Python package, installed into a virtual environment that is copied whole. ---
# Debian's own Python 3.11: the base is debian:bookworm-slim, which any registry serves and
# which `.ci/image` makes from Debian's packages (debootstrap) where no registry is reachable.
FROM debian:bookworm-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A CA bundle for pip where the build reaches the package index through an inspecting proxy
# (`.ci/image` mounts the host's for the build only; nothing of it stays in the image).
ARG PIP_CERT
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The locked versions, checked against their hashes, then the project alone (`make lock`).
COPY requirements-runtime.lock ./
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY service ./service
COPY schemas ./schemas
COPY mobile_api ./mobile_api
COPY migrations ./migrations
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/pip uninstall -y pip setuptools

# --- The runtime image. ---
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MEDWASTE_DATA_DIR=/data \
    MEDWASTE_WEB_DIR=/srv/medwaste/web \
    PORT=8000
RUN groupadd --system --gid 10001 medwaste \
    && useradd --system --uid 10001 --gid medwaste --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin medwaste \
    && mkdir -p /data \
    && chown medwaste:medwaste /data
COPY --from=build /opt/venv /opt/venv
COPY web/app /srv/medwaste/web/app
COPY web/dashboard /srv/medwaste/web/dashboard
COPY web/shared /srv/medwaste/web/shared
# The QR decoder and the API page's Swagger UI, as `make web` installed them from
# web/package-lock.json (run it first).
COPY web/node_modules/jsqr/dist/jsQR.js /srv/medwaste/web/node_modules/jsqr/dist/jsQR.js
COPY web/node_modules/swagger-ui-dist/swagger-ui-bundle.js web/node_modules/swagger-ui-dist/swagger-ui.css web/node_modules/swagger-ui-dist/favicon-32x32.png /srv/medwaste/web/node_modules/swagger-ui-dist/

WORKDIR /srv/medwaste
USER medwaste
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)" || exit 1

# exec: the server becomes PID 1 and gets SIGTERM from `docker stop` (graceful shutdown).
CMD ["sh", "-c", "medwaste migrate && exec medwaste serve --host 0.0.0.0 --port \"${PORT}\""]
