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
 *
 * Example for a small flash-only board:
 *   #define MD_DEFAULT_ROOT "/overlay/minidock"
 *   #ifndef MD_FEATURE_API
 *   #define MD_FEATURE_API 0
 *   #endif
 */
