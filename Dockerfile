# syntax=docker/dockerfile:1.7
# One image recipe for every service, chosen with a build argument:
#
#   docker build --build-arg SERVICE=loans -t sangsaeng/loans .
#
# The build context is the repository root because the services are members of one uv
# workspace and share one lock file: `uv sync --locked` installs exactly the versions in
# uv.lock, and only what the chosen service needs (its package, sangsaeng-common and their
# dependencies; no dev tools, no devstack, no other service).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build: a venv from uv.lock
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ARG UV_VERSION=0.13.8
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<intake|visits|loans|referrals|audit|districts>" >&2; exit 1; }
RUN --mount=type=cache,target=/root/.cache/pip pip install --disable-pip-version-check uv==${UV_VERSION}
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY . .
# --no-editable: the service and sangsaeng-common are installed into the venv itself, so the
# runtime stage needs nothing but /app/.venv (no sources, no uv).
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package "sangsaeng-${SERVICE}" \
 && /app/.venv/bin/python -c "import importlib, sys; importlib.import_module(sys.argv[1])" "${SERVICE}" \
 && printf '#!/bin/sh\n# PID 1 is the service itself (exec), so SIGTERM reaches its graceful stop.\nexec /app/.venv/bin/python -m %s "$@"\n' "${SERVICE}" > /app/run \
 && chmod 0555 /app/run

# ---------------------------------------------------------------- runtime: small, non-root
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="sangsaeng-${SERVICE}" \
      org.opencontainers.image.description="Sangsaeng ${SERVICE} service" \
      org.opencontainers.image.source="sangsaeng"
RUN groupadd --system --gid 10001 sangsaeng \
 && useradd --system --uid 10001 --gid sangsaeng --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sangsaeng
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SANGSAENG_SERVICE=${SERVICE} \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000
# The root filesystem can be read-only: bytecode is compiled at build time and nothing is
# written at run time except to /tmp (mount an emptyDir or tmpfs there).
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# Slim images have no curl: ask /health with the interpreter that is there anyway.
# (`serve` and `api` answer HTTP; a `consume`-only or `relay`-only process does not: turn the
# check off for those with `healthcheck: disable: true`.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HTTP_PORT', '8000'), timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/run"]
CMD ["serve"]
