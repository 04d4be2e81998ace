# uptime-sla: `uptime-sla run` probing the targets of /etc/uptime-sla/config.yaml and serving
# Prometheus metrics on port 9464.
#
#   podman build -t uptime-sla .            (or docker build)
#   podman run -d -p 9464:9464 -v ./config.yaml:/etc/uptime-sla/config.yaml:ro \
#       -v uptime-sla-data:/var/lib/uptime-sla uptime-sla
#
# The config must listen on all interfaces inside the container (metrics.listen: 0.0.0.0:9464)
# and keep its SQLite file on the data volume
# (storage.url: sqlite:////var/lib/uptime-sla/uptime-sla.db), or use PostgreSQL.
#
# BASE_IMAGE may be any Debian-like image with python3 (>= 3.11) and its venv module, e.g. one
# made with `mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates`;
# both stages use it, so the virtualenv copied from the build stage finds its interpreter.
ARG BASE_IMAGE=python:3.11-slim

# --- build: a wheel of this project, installed with its dependencies into /opt/uptime-sla ---
# (pip and setuptools are removed from that virtualenv afterwards: the runtime installs nothing)
FROM ${BASE_IMAGE} AS build

# Extras of the wheel to install: postgres brings psycopg for a postgresql+psycopg:// URL.
ARG EXTRAS=postgres

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# .dockerignore lets only pyproject.toml, README.md, LICENSE, monitor/ and sla/ in.
COPY . .

RUN python3 -m venv /opt/uptime-sla \
    && /opt/uptime-sla/bin/python -m pip wheel --no-deps --wheel-dir /dist . \
    && set -- /dist/uptime_sla-*.whl \
    && /opt/uptime-sla/bin/python -m pip install "$1${EXTRAS:+[$EXTRAS]}" \
    && /opt/uptime-sla/bin/python -m pip uninstall --yes pip setuptools \
    && /opt/uptime-sla/bin/uptime-sla --help >/dev/null

# --- runtime: the interpreter of the base, the virtualenv, and nothing else of the build ---
FROM ${BASE_IMAGE} AS runtime

ARG BASE_IMAGE=python:3.11-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="uptime-sla" \
      org.opencontainers.image.description="Uptime monitor over IPv4 and IPv6 with monthly SLA availability and credit reports; serves Prometheus metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# A fixed uid/gid, so a bind-mounted data directory can be chowned to it on the host.
RUN groupadd --system --gid 10001 uptime-sla \
    && useradd --no-log-init --uid 10001 --gid uptime-sla --no-create-home \
        --home-dir /var/lib/uptime-sla --shell /usr/sbin/nologin uptime-sla \
    && mkdir -p /etc/uptime-sla /var/lib/uptime-sla/status \
    && chown uptime-sla:uptime-sla /var/lib/uptime-sla /var/lib/uptime-sla/status \
    && chmod 0750 /var/lib/uptime-sla

COPY --from=build /opt/uptime-sla /opt/uptime-sla

ENV PATH="/opt/uptime-sla/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UPTIME_SLA_CONFIG=/etc/uptime-sla/config.yaml \
    UPTIME_SLA_HEALTHCHECK_URL=http://127.0.0.1:9464/metrics

USER 10001:10001
WORKDIR /var/lib/uptime-sla
VOLUME ["/var/lib/uptime-sla"]
EXPOSE 9464

# Healthy while /metrics answers 2xx. Set UPTIME_SLA_HEALTHCHECK_URL when metrics.listen uses
# another port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['UPTIME_SLA_HEALTHCHECK_URL'], timeout=4).read()"]

ENTRYPOINT ["uptime-sla"]
CMD ["run"]
