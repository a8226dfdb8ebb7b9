#!/usr/bin/env bash
# Makes a local stand-in for `debian:bookworm-slim`, for machines that reach Debian's mirror
# but no container registry: `debootstrap --variant=minbase` into a folder, trimmed the way
# Debian's slim images are (no docs, man pages or locales, now or in later `apt-get install`s),
# then `docker import`ed as kubenotes-base:bookworm (or the tag given). Build the sandbox image
# FROM it:
#
#   bash sandbox-server/deploy/make-local-base.sh
#   docker build -f sandbox-server/Dockerfile --build-arg BASE_IMAGE=kubenotes-base:bookworm -t kubenotes .
#
# Where a registry is reachable, skip this: the Dockerfile's default base is debian:bookworm-slim.
#
# Idempotent: an existing image is kept (--force makes it again); the root filesystem is cached
# as a tarball under ${KUBENOTES_CACHE:-~/.cache/kubenotes}/base/, so a machine that lost its
# images imports it again in seconds. Needs root (debootstrap), debootstrap and a Docker engine.
#
# Usage: make-local-base.sh [--force] [--tag NAME:TAG] [--suite bookworm]
# Environment: KUBENOTES_CACHE, KUBENOTES_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

RECIPE=1 # bump when what goes into the root filesystem changes

main() {
  local tag="kubenotes-base:bookworm" suite="bookworm" force=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --force) force=1 ;;
      --tag) tag="${2:?--tag needs NAME:TAG}"; shift ;;
      --suite) suite="${2:?--suite needs a Debian suite}"; shift ;;
      -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
  done
  START=$SECONDS
  local cache="${KUBENOTES_CACHE:-$HOME/.cache/kubenotes}"
  local mirror="${KUBENOTES_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  local tar="$cache/base/debian-$suite-minbase-r$RECIPE.tar"

  command -v docker >/dev/null 2>&1 || die "no docker client on PATH"
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers (start one; on the project's test machines: bash tests/kind/start-docker.sh)"

  if [[ $force -eq 0 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    say "base image $tag already exists (--force makes it again)"
    return 0
  fi
  if [[ $force -eq 1 || ! -s "$tar" ]]; then
    make_rootfs "$tar" "$suite" "$mirror" "$cache"
  else
    say "root filesystem cached: $tar"
  fi
  say "docker import → $tag"
  docker import \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "kubenotes local base: debootstrap --variant=minbase $suite (recipe r$RECIPE)" \
    "$tar" "$tag" >/dev/null
  say "done: $tag ($(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
}

make_rootfs() { # out-tar suite mirror cache
  local out="$1" suite="$2" mirror="$3" cache="$4" dir
  [[ $EUID -eq 0 ]] || die "debootstrap needs root"
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
      die "could not install debootstrap (apt-get install debootstrap)"
  fi
  mkdir -p "$(dirname "$out")"
  dir="$(mktemp -d "$(dirname "$out")/debootstrap.XXXXXX")"
  trap 'rm -rf "$dir"' EXIT
  say "debootstrap --variant=minbase $suite from $mirror (a minute or two)…"
  if ! debootstrap --variant=minbase "$suite" "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1; then
    tail -n 20 "$dir/debootstrap.log" >&2
    [[ -f "$dir/rootfs/debootstrap/debootstrap.log" ]] && tail -n 20 "$dir/rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  local r="$dir/rootfs"
  # The same sources as debian:bookworm-slim: updates and security fixes too.
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # What the official slim images do: later installs leave out docs, man pages and locales,
  # apt keeps no package cache, and nothing asks questions.
  cat >"$r/etc/dpkg/dpkg.cfg.d/kubenotes-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  cat >"$r/etc/apt/apt.conf.d/kubenotes-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/debootstrap "$r"/var/log/*.log
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
  : >"$r/etc/machine-id"
  echo "kubenotes" >"$r/etc/hostname"
  tar -C "$r" --numeric-owner -cf "$out.tmp.$$" .
  mv -f "$out.tmp.$$" "$out"
  rm -rf "$dir"
  trap - EXIT
  say "root filesystem: $out ($(du -h "$out" | cut -f1))"
}

say() { echo "[make-local-base $((SECONDS - START))s] $*"; }
die() { echo "make-local-base.sh: error: $*" >&2; exit 1; }

main "$@"
