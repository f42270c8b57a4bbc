#!/usr/bin/env bash
# Start dockerd in the background unless an engine already answers; wait until it does.
# Idempotent: a second run finds the engine up and returns at once.
set -euo pipefail

timeout_s=${DOCKERD_START_TIMEOUT:-60}
log=${DOCKERD_LOG:-/tmp/dockerd.log}

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "start-dockerd: dockerd not installed (apt-get install docker.io)" >&2
    exit 1
fi

# A stale pid file from a dead daemon would make dockerd refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    echo "start-dockerd: starting dockerd (log: $log)" >&2
    nohup dockerd >"$log" 2>&1 &
fi

deadline=$((SECONDS + timeout_s))
until docker info >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "start-dockerd: engine did not answer within ${timeout_s}s; last log lines:" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
    fi
    sleep 0.5
done
echo "start-dockerd: engine is up" >&2
