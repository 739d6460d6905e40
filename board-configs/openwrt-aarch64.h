/* board-configs/openwrt-aarch64.h -- compiled-in defaults for an OpenWrt
 * router on 64-bit ARM. As openwrt-mipsel.h (overlay root, logs in RAM, fw4),
 * with room for a larger tmpfs upper layer and logs. */
#define MD_DEFAULT_ROOT "/opt/minidock"
#define MD_DEFAULT_RUNROOT "/var/run/minidock"
#define MD_DEFAULT_LOG_DIR "runroot"
#define MD_DEFAULT_LOG_MAX_SIZE "512k"
#define MD_DEFAULT_LOG_MAX_FILE "2"
#define MD_DEFAULT_OVERLAY_FALLBACK "tmpfs"
#define MD_DEFAULT_TMPFS_UPPER_SIZE "64m"
#define MD_DEFAULT_CGROUP_PARENT "minidock"
#define MD_DEFAULT_BRIDGE "br-minidock"
#define MD_DEFAULT_SUBNET "10.177.0.0/24"
#define MD_DEFAULT_POOL "10.178.0.0/16"
#define MD_DEFAULT_FIREWALL "nftables"
/* the flash budget: a router's flash is small and shared with its
 * configuration; old images go earlier than on a disk */
#define MD_DEFAULT_GC_HIGH 80
#define MD_DEFAULT_GC_LOW 70
