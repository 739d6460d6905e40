# shellcheck shell=bash
# Real power cuts (issue 15): tests/boards/powercut.sh boots the amd64
# board VM (Debian's kernel under qemu-system-x86_64) with minidock's store
# on a virtio disk (ext4, cache=none), updates a compose project in a loop
# (commits and rollbacks), kills qemu with SIGKILL at random moments and
# boots again from the same disk: the file system mounts, `minidock boot`
# finishes, `system check` passes, the committed revision's containers run,
# nothing committed is lost; e2fsck checks the disk between cuts.
# MD_POWERCUT_CUTS cuts (20 here; `make soak` runs 200). About 4 minutes
# warm; the kernel and busybox come from $MD_DEPS_CACHE/vm (mk/cross.sh),
# as for tests/boards/vm.sh. Logs: build/boards/powercut/.

# timeout: 1500
test_powercut_x86_64() {
    require_root
    command -v qemu-system-x86_64 >/dev/null ||
        skip "qemu-system-x86_64 is missing (mk/setup.sh boards, or apt-get install qemu-system-x86)"
    require_cmd mkfs.ext4 e2fsck busybox cpio
    bash "$MD_REPO/tests/boards/powercut.sh" "${MD_POWERCUT_CUTS:-20}"
}
