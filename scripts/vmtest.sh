#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make vmtest`: run the tests on a second kernel, in qemu. By default the
# kernel is Debian's linux-image-amd64 (6.1 on Debian 12), downloaded and
# unpacked under build/vm (nothing is installed into /boot); KERNEL=path
# runs another bzImage (with virtio-pci and 9p built in, or MODULES=its
# lib/modules/VERSION). The guest sees the host's root read-only over 9p
# and runs tests/run.sh on it; VMTEST_TESTS picks some tests (names as
# tests/run.sh takes them), VMTEST_FILTER some tests within them (APPSHOT_TEST,
# a cmocka pattern). TCG, or KVM with APPSHOT_VM_KVM=1.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
OUT=${OUTPUT:-build}
VM=$PWD/$OUT/vm
LIMIT=${VMTEST_TIMEOUT:-1200}
KERNEL=${KERNEL:-}
MODULES=${MODULES:-}

need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null && return
	echo "vmtest: installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need depmod kmod
[ -x /bin/busybox ] && file /bin/busybox 2>/dev/null | grep -q static ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
mkdir -p "$VM"

if [ -z "$KERNEL" ]; then
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	kdir=$VM/$pkg
	if [ ! -d "$kdir/boot" ]; then
		echo "vmtest: fetching $pkg"
		rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp"
		(cd "$kdir.tmp" && apt-get download -q "$pkg" 2>/dev/null && dpkg-deb -x ./*.deb . && rm ./*.deb)
		mv "$kdir.tmp" "$kdir"
	fi
	KERNEL=$(ls "$kdir"/boot/vmlinuz-*)
	MODULES=$(ls -d "$kdir"/lib/modules/*)
fi
[ -r "$KERNEL" ] || { echo "vmtest: no kernel at $KERNEL"; exit 1; }

# The initramfs: busybox, the init, and the modules 9p over virtio needs, in order.
init=$VM/initramfs
rm -rf "$init" && mkdir -p "$init"/{bin,dev,proc,sys,mnt/root,lib/modules}
cp /bin/busybox "$init/bin/"
cp scripts/vm-init "$init/init"
if [ -n "$MODULES" ]; then
	ver=$(basename "$MODULES")
	depmod -b "$MODULES/../../.." "$ver"
	resolve() { # the module's dependencies, then the module
		local line d
		line=$(grep -E "/$1\.ko(\.[gx]z)?:" "$MODULES/modules.dep" | head -1) || return 0
		for d in ${line#*:}; do resolve "$(basename "${d%%.ko*}")"; done
		echo "$1"
	}
	for m in $(for m in virtio_pci 9pnet_virtio 9p veth sch_ingress cls_bpf unix_diag; do resolve $m; done | awk '!seen[$0]++'); do
		f=$(find "$MODULES" -name "$m.ko*" | head -1)
		case "$f" in
		*.xz) xz -dc "$f" > "$init/lib/modules/$m.ko" ;;
		*.gz) gzip -dc "$f" > "$init/lib/modules/$m.ko" ;;
		*) cp "$f" "$init/lib/modules/" ;;
		esac
		echo "$m" >> "$init/modules.order"
	done
fi
(cd "$init" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$VM/initramfs.gz"

# The console shows warnings and stack traces (loglevel 5); a soft lockup
# prints every CPU's stack and ends the guest at once (softlockup_panic)
# instead of spending the rest of the limit.
# KVM only when asked: on our machines /dev/kvm exists but its backend boots
# no stock kernel (qemu hangs), see ../shared/KERNEL.md.
accel=tcg
[ "${APPSHOT_VM_KVM:-0}" = 1 ] && accel=kvm
tests=$(echo ${VMTEST_TESTS:-} | tr ' ' ,)
filter=${VMTEST_FILTER:-}
echo "vmtest: booting $(basename "$KERNEL") ($accel), $LIMIT s at most"
log=$VM/console.log
set +e
timeout --kill-after=10 "$LIMIT" qemu-system-x86_64 -machine q35,accel=$accel -cpu max \
	-m 3072 -smp 2 -nographic -no-reboot -kernel "$KERNEL" -initrd "$VM/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=5 softlockup_panic=1 softlockup_all_cpu_backtrace=1 appshot.dir=$PWD appshot.tests=$tests appshot.filter=$filter" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	< /dev/null > "$log" 2>&1
rc=$?
set -e
# The markers may follow escape codes on their line: cut everything before them.
tr -d '\r' < "$log" | sed -e 's/^.*\(VMTEST-[A-Z]*\)/\1/' |
	sed -n '/^VMTEST-KERNEL/,/^VMTEST-EXIT/p' > "$VM/result"
kver=$(sed -n 's/^VMTEST-KERNEL //p' "$VM/result")
if [ -z "$kver" ]; then
	echo "vmtest: the guest did not boot (qemu exit $rc); the console said:"
	tail -n 30 "$log"
	exit 1
fi
grep -v '^VMTEST-' "$VM/result" | sed "s/^/[$kver] /"
exit_line=$(sed -n 's/^VMTEST-EXIT //p' "$VM/result")
if [ -z "$exit_line" ]; then
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "vmtest: the tests on $kver did not finish within $LIMIT s"
	else
		echo "vmtest: the guest on $kver ended before the tests finished (a panic or lockup above)"
	fi
	exit 1
fi
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$VM/result" | tail -1)
echo "vmtest on $kver: $summary"
[ "${exit_line%% *}" = 0 ]
