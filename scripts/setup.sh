#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Make a Debian 12 machine ready for appshot: install the packages it
# builds and tests with (only those missing), and mount bpffs and tracefs
# if they are not. Safe to run again.
set -eu

PKGS="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libjson-c-dev
libcmocka-dev libxxhash-dev iproute2 procps libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: these packages are missing and installing them needs root:$missing" >&2
		exit 1
	fi
	echo "setup: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$(id -u)" = 0 ]; then
	if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != "bpf_fs" ]; then
		mount -t bpf bpf /sys/fs/bpf -o mode=0700
		echo "setup: mounted bpffs on /sys/fs/bpf"
	fi
	if [ "$(stat -f -c %T /sys/kernel/tracing 2>/dev/null)" != "tracefs" ]; then
		mount -t tracefs tracefs /sys/kernel/tracing
		echo "setup: mounted tracefs on /sys/kernel/tracing"
	fi
fi
