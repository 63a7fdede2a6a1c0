#!/usr/bin/env bash
# Installs the system packages Canal's tools and tests use, when they are missing.
# Debian/Ubuntu; needs root (or sudo). Safe to run again: installs only what is missing.
set -euo pipefail

packages=(
  libcurl4-openssl-dev   # the etcd client (Sources/CCurl)
  etcd-server etcd-client
  iptables ipset nftables iproute2 iputils-ping
  bird2
  containernetworking-plugins
  openssl
  python3                # the namespace test harness's TCP/UDP listeners
  python3-scapy python3-prometheus-client tcpdump   # raw packets, the metrics parser, captures
  libmnl-dev libnl-route-3-dev                      # in-process netlink
  podman crun runc busybox-static                   # a real container runtime and an image rootfs
  docker.io                                         # dockerd for the libnetwork plugin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  # Package scripts must not start services (etcd) on install: tests start their own.
  printf '#!/bin/sh\nexit 101\n' > /tmp/canal-policy-rc.d && chmod +x /tmp/canal-policy-rc.d
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    $sudo cp /tmp/canal-policy-rc.d /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "error: the Swift toolchain (swift 6.2 or later) is not on PATH" >&2
  exit 1
fi
