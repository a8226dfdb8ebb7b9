#!/usr/bin/env bash
# Makes sure a Docker engine runs on this machine, for the kind tier of the tests (test
# infrastructure: readers bring their own Docker).
#
#   - an engine that already answers is used as it is (after the privileged probe below);
#   - otherwise Debian's docker.io is installed if dockerd is missing, and dockerd is started
#     in the background (log: $KUBENOTES_CACHE/dockerd.log);
#   - probe: `docker run --privileged` of a tiny local image (busybox, made here; nothing is
#     pulled). kind starts its nodes privileged. Where that fails with "unable to apply caps"
#     (a machine whose capability bounding set lacks CAP_SYS_RESOURCE), dockerd is restarted with
#     tests/kind/runc-without-sys-resource as its default runtime, and probed again;
#   - an empty /lib/modules is created where the machine has none (kind bind-mounts it).
#
# Idempotent; a second call with the engine up takes about a second. Needs root to start dockerd.
# Environment: KUBENOTES_CACHE (default ~/.cache/kubenotes).
# Prints "docker: ready (…)" on success as its last line; exits non-zero with a reason otherwise.
#
# --stop: stops the dockerd this script started (its pid file), and nothing else: an engine
# started some other way is left alone. Tests call it through tests/support/docker-engine.ts,
# which stops the engine only when tests started it and no other test run still uses it.
set -euo pipefail

main() {
  if [[ "${1:-}" == --stop ]]; then
    START=$SECONDS
    if ! started_by_us; then
      say "no dockerd started by this script runs: nothing to stop"
      return 0
    fi
    local pid
    pid="$(cat "$PIDFILE")"
    stop_our_dockerd
    say "stopped dockerd (pid $pid)"
    return 0
  fi
  local here cache tools log runtime_name=kubenotes-runc need_wrapper=0
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  cache="${KUBENOTES_CACHE:-$HOME/.cache/kubenotes}"
  tools="$cache/tools"
  log="$cache/dockerd.log"
  START=$SECONDS
  mkdir -p "$tools"

  # kind bind-mounts the host's /lib/modules into its nodes (read-only), and Docker refuses a
  # bind mount whose source is missing. Some machines (ours: a VM whose kernel has no module
  # tree) have none; an empty folder is all kind needs there.
  if [[ ! -e /lib/modules && $EUID -eq 0 ]]; then
    mkdir -p /lib/modules
    say "created an empty /lib/modules (this kernel has no module tree; kind bind-mounts it)"
  fi

  if engine_up; then
    say "a Docker engine is already running ($(server_version))"
    if probe_privileged; then
      say "docker: ready (engine $(server_version), default runtime $(docker info --format '{{.DefaultRuntime}}' 2>/dev/null), privileged containers work)"
      return 0
    fi
    if [[ "$PROBE_ERR" == *"unable to apply caps"* ]] && started_by_us; then
      say "privileged containers fail here (unable to apply caps); restarting our dockerd with the runc wrapper"
      stop_our_dockerd
      need_wrapper=1
    else
      die "docker run --privileged fails on the running engine: $PROBE_ERR
  kind needs privileged containers. If this machine lacks CAP_SYS_RESOURCE in its bounding set, start dockerd
  with: --add-runtime $runtime_name=$tools/runc-without-sys-resource --default-runtime $runtime_name"
    fi
  else
    ensure_packages
  fi

  [[ $EUID -eq 0 ]] || die "dockerd is not running and starting it needs root"

  # The wrapper goes into the cache, so that dockerd never depends on a work tree that may go away.
  install -m 0755 "$here/runc-without-sys-resource" "$tools/runc-without-sys-resource"

  if [[ $need_wrapper -eq 0 ]]; then
    start_dockerd "$log" ""
    if ! probe_privileged; then
      if [[ "$PROBE_ERR" == *"unable to apply caps"* ]]; then
        say "docker run --privileged failed: unable to apply caps (this machine lacks CAP_SYS_RESOURCE); restarting dockerd with the runc wrapper"
        stop_our_dockerd
      else
        die "docker run --privileged failed: $PROBE_ERR (dockerd log: $log)"
      fi
    fi
  fi
  if ! engine_up; then
    start_dockerd "$log" "--add-runtime=$runtime_name=$tools/runc-without-sys-resource --default-runtime=$runtime_name"
    probe_privileged || die "docker run --privileged still fails with the runc wrapper: $PROBE_ERR (dockerd log: $log)"
    say "docker: ready (engine $(server_version), default runtime $runtime_name = runc without CAP_SYS_RESOURCE)"
    return 0
  fi
  say "docker: ready (engine $(server_version), privileged containers work)"
}

say() { echo "[start-docker $((SECONDS - START))s] $*"; }
die() { echo "start-docker.sh: error: $*" >&2; exit 1; }

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
server_version() { docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'; }

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  [[ -x /bin/busybox || -x /usr/bin/busybox ]] || missing+=(busybox-static)
  if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $EUID -eq 0 ]] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
    say "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH"
}

PIDFILE=/var/run/kubenotes-dockerd.pid
# alive and not a zombie (a killed dockerd may linger as one for a moment)
alive() { [[ -r /proc/$1/stat ]] && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
started_by_us() { [[ -f $PIDFILE ]] && alive "$(cat "$PIDFILE")"; }

start_dockerd() { # log extra-flags
  local log="$1" extra="$2" i
  # a pid file left by a dockerd that was killed (say, at the end of an earlier session)
  if [[ -f $PIDFILE ]] && ! started_by_us; then rm -f "$PIDFILE"; fi
  say "starting dockerd ${extra:+($extra) }— log: $log"
  # shellcheck disable=SC2086 # extra holds flags
  setsid nohup dockerd --pidfile "$PIDFILE" $extra >>"$log" 2>&1 </dev/null &
  for i in $(seq 1 120); do
    engine_up && { say "dockerd is up ($(server_version))"; return 0; }
    if ! kill -0 $! 2>/dev/null; then die "dockerd exited at once; last lines of $log:
$(tail -n 15 "$log")"; fi
    sleep 0.5
  done
  die "dockerd did not answer within 60s; last lines of $log:
$(tail -n 15 "$log")"
}

stop_our_dockerd() {
  local pid i
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do alive "$pid" || break; sleep 0.5; done
  alive "$pid" && die "dockerd (pid $pid) did not stop"
  rm -f "$PIDFILE"
}

# A busybox-only image made locally from Debian's busybox-static, for the probe.
PROBE_IMAGE=kubenotes.local/probe:busybox
PROBE_ERR=""
probe_privileged() {
  if ! docker image inspect "$PROBE_IMAGE" >/dev/null 2>&1; then
    local bb dir
    bb="$(command -v busybox || true)"
    [[ -n "$bb" ]] || die "busybox is missing (apt-get install busybox-static)"
    dir="$(mktemp -d)"
    mkdir -p "$dir/bin"
    cp "$bb" "$dir/bin/busybox"
    ln -s busybox "$dir/bin/sh"
    ln -s busybox "$dir/bin/true"
    tar -C "$dir" -c . | docker import - "$PROBE_IMAGE" >/dev/null ||
      die "could not make the probe image $PROBE_IMAGE"
    rm -rf "$dir"
  fi
  if PROBE_ERR="$(docker run --rm --pull never --privileged "$PROBE_IMAGE" /bin/true 2>&1)"; then return 0; fi
  PROBE_ERR="$(echo "$PROBE_ERR" | tr '\n' ' ')"
  return 1
}

main "$@"
