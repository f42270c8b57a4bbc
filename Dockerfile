# The Infernet Node image: the node in a venv under /opt/venv, run from /app.
#
#   docker build -t infernet-node:latest .                  # base from Docker Hub
#   docker build --build-arg BASE_IMAGE=<local bookworm image with apt> -t infernet-node .
#
# Offline builds: put wheels for the dependencies in .ci/work/wheels first
#   pip wheel . setuptools wheel -w .ci/work/wheels && rm .ci/work/wheels/infernet_node-*.whl
# and pip installs from them without an index; otherwise it uses PyPI.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# make: `docker exec <container> make register-node` (deploy/Makefile).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv make ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv

# Dependencies first, in their own layer, so a code change reuses it.
# The glob makes the wheelhouse optional (pyproject.toml is always there).
COPY pyproject.toml .ci/work/wheel[s] /wheels/
RUN if ls /wheels/*.whl >/dev/null 2>&1; then \
        pip install --no-index --find-links /wheels /wheels/*.whl; \
    fi

COPY setup.cfg pyproject.toml README.md /src/
COPY node /src/node
COPY actors /src/actors
RUN if ls /wheels/*.whl >/dev/null 2>&1; then \
        pip install --no-index --find-links /wheels /src; \
    else \
        pip install /src; \
    fi \
 && rm -rf /src /wheels

WORKDIR /app
COPY deploy/Makefile /app/Makefile

# The node reaches the workflow containers it starts through the host
# (host.docker.internal) because they are its siblings, not its children.
ENV RUNTIME=docker \
    INFERNET_CONFIG_PATH=/app/config.json
EXPOSE 4000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health', timeout=4)"]
CMD ["infernet-node", "run", "--config", "/app/config.json"]
