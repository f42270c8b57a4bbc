#!/usr/bin/env bash
# Build the local workflow test images (no registry is reachable, so nothing is pulled).
#   infernet-test/base:latest       Debian bookworm minbase + python3 (debootstrap | docker import)
#   infernet-test/{echo,slow,failing,streaming}:latest
#                                   thin images over the base, all running tests/images/workflow_server.py
# Idempotent and cheap when nothing changed: the base is built only if missing, and a thin image is
# rebuilt only when the hash of the server script + Dockerfile differs from the label it carries.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
images_dir="$here/../tests/images"
base_image=${INFERNET_TEST_BASE_IMAGE:-infernet-test/base:latest}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${DEBIAN_SUITE:-bookworm}
modes=(echo slow failing streaming)
hash_label=infernet-test.server-hash

# Parallel test sessions may call this at the same time; one builds, the others wait and then skip.
exec 9>"${TMPDIR:-/tmp}/infernet-test-images.lock"
flock 9

build_base() {
    if docker image inspect "$base_image" >/dev/null 2>&1; then
        return
    fi
    local root started
    root=$(mktemp -d "${TMPDIR:-/tmp}/infernet-base.XXXXXX")
    started=$SECONDS
    echo "build-test-images: debootstrap $suite into $root" >&2
    if ! debootstrap --variant=minbase --include=python3 "$suite" "$root" "$mirror" \
            >"$root.log" 2>&1; then
        echo "build-test-images: debootstrap failed; last lines:" >&2
        tail -n 30 "$root.log" >&2
        rm -rf "$root" "$root.log"
        exit 1
    fi
    # Package caches are dead weight inside the image.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$base_image" >/dev/null
    rm -rf "$root" "$root.log"
    echo "build-test-images: built $base_image in $((SECONDS - started))s" >&2
}

build_thin() {
    local want_hash mode image have_hash started out old_id
    want_hash=$(cat "$images_dir/workflow_server.py" "$images_dir/Dockerfile" | sha256sum | cut -c1-16)
    for mode in "${modes[@]}"; do
        image="infernet-test/$mode:latest"
        have_hash=$(docker image inspect -f "{{index .Config.Labels \"$hash_label\"}}" "$image" \
            2>/dev/null || true)
        if [ "$have_hash" = "$want_hash" ]; then
            continue
        fi
        old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
        started=$SECONDS
        # The classic builder's deprecation banner is noise; show its output only on failure.
        if ! out=$(DOCKER_BUILDKIT=0 docker build -q \
                --build-arg "BASE=$base_image" \
                --build-arg "WORKFLOW_MODE=$mode" \
                --build-arg "SERVER_HASH=$want_hash" \
                -t "$image" "$images_dir" 2>&1); then
            echo "build-test-images: building $image failed:" >&2
            echo "$out" >&2
            exit 1
        fi
        # Drop the superseded image so rebuilds leave no dangling layers (kept while a container uses it).
        if [ -n "$old_id" ]; then
            docker image rm "$old_id" >/dev/null 2>&1 || true
        fi
        echo "build-test-images: built $image in $((SECONDS - started))s" >&2
    done
}

build_base
build_thin
