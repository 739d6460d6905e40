/* board-configs/openwrt-mipsel.h -- compiled-in defaults for an OpenWrt router
 * (32-bit MIPS little endian, 64-128 MB RAM, 8-32 MB flash).
 *
 * OpenWrt's root is an overlayfs (squashfs + jffs2/ubifs upper on /overlay),
 * which cannot be the upper layer of another overlay: containers get a tmpfs
 * upper layer (lost when they stop) unless the data root is on a real disk
 * (USB stick, eMMC partition: `--root /mnt/sda1/minidock`). Logs stay in
 * RAM so that a chatty container does not wear the flash. The firewall is
 * fw4, i.e. nftables; minidock adds its own `table ip minidock` beside fw4's
 * `table inet fw4` and touches nothing of fw4's.
 */
#define MD_DEFAULT_ROOT "/opt/minidock"
#define MD_DEFAULT_RUNROOT "/var/run/minidock"
#define MD_DEFAULT_LOG_DIR "runroot"
#define MD_DEFAULT_LOG_MAX_SIZE "256k"
#define MD_DEFAULT_LOG_MAX_FILE "1"
#define MD_DEFAULT_OVERLAY_FALLBACK "tmpfs"
#define MD_DEFAULT_TMPFS_UPPER_SIZE "16m"
#define MD_DEFAULT_CGROUP_PARENT "minidock"
/* br-lan is OpenWrt's; 192.168.1.0/24 its LAN: keep clear of both */
#define MD_DEFAULT_BRIDGE "br-minidock"
#define MD_DEFAULT_SUBNET "10.177.0.0/24"
#define MD_DEFAULT_POOL "10.178.0.0/16"
#define MD_DEFAULT_FIREWALL "nftables"
/* the flash budget: a router's flash is small and shared with its
 * configuration; old images go earlier than on a disk */
#define MD_DEFAULT_GC_HIGH 80
#define MD_DEFAULT_GC_LOW 70
