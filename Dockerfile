# uptime-sla: `uptime-sla run` probing the targets of /etc/uptime-sla/config.yaml and serving
# Prometheus metrics on port 9464.
#
#   podman build -t uptime-sla .            (or docker build)
#   podman run -d -p 127.0.0.1:9464:9464 --read-only --cap-drop ALL \
#       --security-opt no-new-privileges -v ./config.yaml:/etc/uptime-sla/config.yaml:ro \
#       -v uptime-sla-data:/var/lib/uptime-sla uptime-sla
#
# The config must listen on all interfaces inside the container (metrics.listen: 0.0.0.0:9464;
# the host publishes it on 127.0.0.1 only) and keep its SQLite file on the data volume
# (storage.url: sqlite:////var/lib/uptime-sla/uptime-sla.db), or use PostgreSQL.
#
# The Python packages are exactly those of requirements.lock, checked against its hashes.
#
# BASE_IMAGE is pinned by digest (python:3.11.10-slim-bookworm). To move to a newer one:
#   skopeo inspect --format '{{.Digest}}' docker://docker.io/library/python:3.11-slim-bookworm
# (or `docker buildx imagetools inspect python:3.11-slim-bookworm`) and replace the default.
# It may be any Debian-like image with python3 (>= 3.11) and its venv module, e.g. one made
# with `mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates`; both
# stages use it, so the virtualenv copied from the build stage finds its interpreter.
ARG BASE_IMAGE=docker.io/library/python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

# --- build: the locked dependencies and this project's wheel, into /opt/uptime-sla ---
# (pip and setuptools are removed from that virtualenv afterwards: the runtime installs nothing)
FROM ${BASE_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# .dockerignore lets only pyproject.toml, requirements.lock, README.md, LICENSE, monitor/
# and sla/ in.
COPY . .

# --require-hashes: a package whose file differs from the locked hash fails the build.
# --no-deps for the project: its dependencies are the lock's, nothing resolved here.
RUN python3 -m venv /opt/uptime-sla \
    && /opt/uptime-sla/bin/python -m pip install --require-hashes --no-deps \
        --only-binary :all: -r requirements.lock \
    && /opt/uptime-sla/bin/python -m pip wheel --no-deps --wheel-dir /dist . \
    && set -- /dist/uptime_sla-*.whl \
    && /opt/uptime-sla/bin/python -m pip install --no-deps "$1" \
    && /opt/uptime-sla/bin/python -m pip check \
    && /opt/uptime-sla/bin/python -m pip uninstall --yes pip setuptools \
    && /opt/uptime-sla/bin/uptime-sla --help >/dev/null

# --- runtime: the interpreter of the base, the virtualenv, and nothing else of the build ---
FROM ${BASE_IMAGE} AS runtime

ARG BASE_IMAGE
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
