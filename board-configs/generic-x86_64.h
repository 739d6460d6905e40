/* board-configs/generic-x86_64.h -- compile-time settings for BOARD=generic-x86_64.
 *
 * minidock.c includes this file (as MD_BOARD_HEADER) before its own defaults,
 * each of which is wrapped in #ifndef, so a board overrides a setting simply by
 * defining it here. A generic x86_64 machine keeps every default, so nothing is
 * defined; the overridable macros are:
 *
 *   MD_DEFAULT_ROOT      "/var/lib/minidock"  images, layers, container state
 *   MD_DEFAULT_RUNROOT   "/run/minidock"      runtime state (tmpfs), sockets
 *   MD_DEFAULT_DOMAIN    "docker.io"          registry for short image names
 *   MD_DEFAULT_LOG_DIR   ""                   container logs: "" in the data
 *                                             root, "runroot" in the run root
 *                                             (RAM), or a directory
 *   MD_DEFAULT_LOG_MAX_SIZE "1m"  MD_DEFAULT_LOG_MAX_FILE "2"   log rotation
 *   MD_DEFAULT_OVERLAY_FALLBACK "tmpfs"       when the data root cannot hold
 *                                             an overlay upper layer: "tmpfs"
 *                                             or "copy"
 *   MD_DEFAULT_TMPFS_UPPER_SIZE "64m"         size of that tmpfs upper layer
 *   MD_DEFAULT_CGROUP_PARENT "minidock"       cgroup under which containers go
 *   MD_DEFAULT_BRIDGE    "md0"                the default network's bridge
 *   MD_DEFAULT_SUBNET    "10.87.0.0/16"       ... and its subnet
 *   MD_DEFAULT_POOL      "10.89.0.0/16"       subnets for `network create`
 *   MD_DEFAULT_FIREWALL  "auto"               "nftables", "iptables", "none"
 *   MD_DEFAULT_USERNS_USER "minidock"         /etc/subuid entry of --userns=remap
 *   MD_DEFAULT_POLICY    "/etc/minidock/policy.json"  signature policy, read
 *                                             when it exists
 *   MD_DEFAULT_GC_HIGH 85  MD_DEFAULT_GC_LOW 80  the flash budget: past HIGH %
 *                                             of the store's filesystem in
 *                                             use, unused, unheld images go
 *                                             until LOW % (100: never; at run
 *                                             time MINIDOCK_GC_HIGH/_LOW)
 *
 *   Feature switches, each 0 or 1 (FEATURES= on the make command line passes
 *   the same -DMD_FEATURE_*=0|1 and wins over a board header's value only if
 *   the header guards it with #ifndef):
 *   MD_FEATURE_PULL      registry client: pull, push, login
 *   MD_FEATURE_TLS       HTTPS through BearSSL (needs PULL)
 *   MD_FEATURE_NET       bridge networking, NAT, published ports
 *   MD_FEATURE_API       `minidock serve`: the Docker Engine API
 *   MD_FEATURE_SECCOMP   default seccomp filter
 *   MD_FEATURE_IPV6      IPv6 on container networks (needs NET)
 *   MD_FEATURE_ZSTD      zstd-compressed layers
 *   MD_FEATURE_USERNS    --userns=remap
 *   MD_FEATURE_BUILD     `minidock build`: images from a Dockerfile
 *   MD_FEATURE_SIGN      signed images: sigstore signatures under a
 *                        containers-policy.json (needs PULL; off with it)
 *
 * Example for a small flash-only board:
 *   #define MD_DEFAULT_ROOT "/overlay/minidock"
 *   #ifndef MD_FEATURE_API
 *   #define MD_FEATURE_API 0
 *   #endif
 */
