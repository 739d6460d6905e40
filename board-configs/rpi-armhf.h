/* board-configs/rpi-armhf.h -- compiled-in defaults for a 32-bit ARMv7 board
 * booting from an SD card or eMMC. The data root is on a real filesystem
 * (ext4), so the overlay works as on a PC; logs go to the data root but
 * smaller than a PC's, SD cards being what they are. */
#define MD_DEFAULT_LOG_MAX_SIZE "512k"
#define MD_DEFAULT_LOG_MAX_FILE "2"
#define MD_DEFAULT_TMPFS_UPPER_SIZE "32m"
