#!/usr/bin/env bash
# Install exactly what is missing from Debian's packages, and mount tracefs/bpffs when absent.
# Usage: scripts/deps.sh [build|test|run]   (default: test = everything the test suite uses)
set -euo pipefail
what=${1:-test}

build_pkgs="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libmicrohttpd-dev
	libcurl4-openssl-dev libjson-c-dev libyaml-dev libcap-dev linux-libc-dev pkg-config
	libgnutls28-dev libcrypt-dev"
test_pkgs="libcmocka-dev curl jq python3 iproute2 iptables socat prometheus
	prometheus-alertmanager libbpf-tools linux-perf qemu-system-x86 yamllint util-linux
	libclang-rt-14-dev wrk python3-yaml
	librdmacm1 libibverbs1 librdmacm-dev libibverbs-dev"

case "$what" in
build | run) pkgs="$build_pkgs" ;;
test | bench) pkgs="$build_pkgs $test_pkgs" ;;
*)
	echo "deps.sh: unknown target '$what' (want build, run, test or bench)" >&2
	exit 2
	;;
esac

missing=()
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Refresh the package lists only when apt cannot find a package (a fresh machine).
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/novascope-apt.log 2>&1; then
		apt-get update -qq >>/tmp/novascope-apt.log 2>&1
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/novascope-apt.log 2>&1 || {
			tail -20 /tmp/novascope-apt.log >&2
			exit 1
		}
	fi
	# Debian enables the services it installs; nothing here should run them in the background.
	for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	done
fi

# The probes need tracefs (tracepoint ids) and bpffs (pinning); a fresh machine may lack both.
if [ "$(id -u)" -eq 0 ]; then
	mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
exit 0
