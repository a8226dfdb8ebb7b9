#!/usr/bin/env bash
# Makes local stand-ins for the public images the chapters use, in the running Docker engine,
# with no registry (test infrastructure only; readers pull the real images):
#
#   alpine:3.22        Debian's busybox-static: /bin/busybox, its applet symlinks,
#                      busybox-extras (the same binary) and an offline `apk` (images/apk: `apk add`
#                      succeeds for what the stand-in already has and fails clearly for the rest)
#   nginx:1.29-alpine  the same root serving images/nginx-index.html ("Welcome to nginx!") with
#                      busybox httpd on port 80. It is not nginx: it lets the chapters' Pods run.
#   nginxinc/nginx-unprivileged:1.29-alpine
#                      the same page on port 8080, as uid 101 (user nginx), as the real image
#                      does: what the chapters run, since a workshop's Pod Security `restricted`
#                      refuses Pods that could run as root.
#
# The kind tier saves them into its cache (build-node-image.sh); the doc-tests make the ones
# their Docker blocks build FROM when the engine lacks them. Each `docker import` takes a second
# or two.
#
# Usage: make-stand-ins.sh --list                 the images it stands in for, one a line
#        make-stand-ins.sh [--missing] IMAGE...   make them (--missing: only those not present)
# Needs a Docker engine and busybox with httpd (busybox-static, installed from Debian when
# missing and run as root). Prints one line per image; exits non-zero with the reason otherwise.
set -euo pipefail

STAND_INS=("alpine:3.22" "nginx:1.29-alpine" "nginxinc/nginx-unprivileged:1.29-alpine")

main() {
  local here missing_only=0 want=() image
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  START=$SECONDS
  case "${1:-}" in
    --list) printf '%s\n' "${STAND_INS[@]}"; return 0 ;;
    --missing) missing_only=1; shift ;;
  esac
  [[ $# -gt 0 ]] || die "usage: $0 --list | [--missing] IMAGE..."
  for image in "$@"; do
    [[ " ${STAND_INS[*]} " == *" $image "* ]] || die "no stand-in for $image (there are: ${STAND_INS[*]})"
    if [[ $missing_only -eq 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then
      say "$image is already in the Docker engine"
      continue
    fi
    want+=("$image")
  done
  [[ ${#want[@]} -gt 0 ]] || return 0
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers"
  ensure_busybox
  make_stand_ins "$here" "${want[@]}"
}

say() { echo "[make-stand-ins $((SECONDS - START))s] $*"; }
die() { echo "make-stand-ins.sh: error: $*" >&2; exit 1; }

has_busybox() { command -v busybox >/dev/null 2>&1 && busybox --list 2>/dev/null | grep -qx httpd; }

ensure_busybox() {
  has_busybox && return 0
  [[ $EUID -eq 0 ]] || die "busybox (with httpd) is missing; install busybox-static (apt-get install busybox-static)"
  say "installing busybox-static from Debian (the stand-ins are made from it)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
  } || die "could not install busybox-static"
  has_busybox || die "busybox-static is installed but has no httpd applet"
}

ROOTFS=""
make_stand_ins() { # here images...
  local here="$1" d bb a
  shift
  ROOTFS="$(mktemp -d)"
  trap 'rm -rf "$ROOTFS"' EXIT
  d="$ROOTFS"
  bb="$(command -v busybox)"
  mkdir -p "$d/bin" "$d/sbin" "$d/usr/bin" "$d/usr/sbin" "$d/etc" "$d/tmp" "$d/root" "$d/var/www" "$d/lib/apk/db"
  chmod 1777 "$d/tmp"
  install -m 0755 "$bb" "$d/bin/busybox"
  for a in $("$bb" --list-full); do
    [[ -e "$d/$a" ]] || ln -s /bin/busybox "$d/$a"
  done
  ln -sf /bin/busybox "$d/bin/busybox-extras"   # alpine's busybox-extras (httpd, telnet…): same binary here
  rm -f "$d/sbin/apk"
  install -m 0755 "$here/images/apk" "$d/sbin/apk"
  printf 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$d/etc/passwd"
  printf 'root:x:0:root\nnginx:x:101:nginx\nnobody:x:65534:\n' >"$d/etc/group"
  printf 'NAME="Alpine Linux (kubenotes offline stand-in)"\nID=alpine\nVERSION_ID=3.22.0\nPRETTY_NAME="Alpine Linux v3.22 (offline stand-in: busybox from Debian busybox-static)"\n' >"$d/etc/os-release"
  echo "3.22.0" >"$d/etc/alpine-release"
  if [[ " $* " == *" alpine:3.22 "* ]]; then
    tar -C "$d" --numeric-owner --owner=0 --group=0 -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["/bin/sh"]' - alpine:3.22 >/dev/null
    say "image alpine:3.22 (stand-in: busybox $("$bb" 2>&1 | head -n1 | awk '{print $2}'), offline apk)"
  fi
  if [[ " $* " == *" nginx:1.29-alpine "* ]]; then
    mkdir -p "$d/usr/share/nginx/html"
    install -m 0644 "$here/images/nginx-index.html" "$d/usr/share/nginx/html/index.html"
    tar -C "$d" --numeric-owner --owner=0 --group=0 -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'EXPOSE 80' \
      --change 'CMD ["/bin/sh", "-c", "trap \"exit 0\" TERM; echo \"nginx stand-in (busybox httpd) listening on port 80\"; httpd -f -v -p 80 -h /usr/share/nginx/html & wait"]' \
      - nginx:1.29-alpine >/dev/null
    say "image nginx:1.29-alpine (stand-in: busybox httpd on port 80 serving \"Welcome to nginx!\")"
  fi
  if [[ " $* " == *" nginxinc/nginx-unprivileged:1.29-alpine "* ]]; then
    mkdir -p "$d/usr/share/nginx/html"
    install -m 0644 "$here/images/nginx-index.html" "$d/usr/share/nginx/html/index.html"
    tar -C "$d" --numeric-owner --owner=0 --group=0 -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'EXPOSE 8080' \
      --change 'USER 101' \
      --change 'CMD ["/bin/sh", "-c", "trap \"exit 0\" TERM; echo \"nginx stand-in (busybox httpd) listening on port 8080\"; httpd -f -v -p 8080 -h /usr/share/nginx/html & wait"]' \
      - nginxinc/nginx-unprivileged:1.29-alpine >/dev/null
    say "image nginxinc/nginx-unprivileged:1.29-alpine (stand-in: busybox httpd on port 8080 as uid 101 serving \"Welcome to nginx!\")"
  fi
}

main "$@"
