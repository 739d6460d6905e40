/* board-configs/generic-arm64.h -- compiled-in defaults for a 64-bit ARM
 * board: those of a PC (see generic-x86_64.h), nothing to override. */
