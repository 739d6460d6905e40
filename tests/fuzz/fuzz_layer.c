/* libFuzzer harness: a whole layer unpack (decompression, tar headers,
 * entry checks, whiteouts, tar-split) into a scratch directory; when it
 * succeeds, the tar rebuilt from the tar-split must hash to the DiffID.
 * Nothing may appear outside the scratch directory. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char base[64];
	if (!base[0]) {
		snprintf(base, sizeof base, "/tmp/md-fuzz-layer-%d", (int)getpid());
		mkdir(base, 0700);
	}
	char in[128], ldir[128];
	snprintf(in, sizeof in, "%s/in", base);
	snprintf(ldir, sizeof ldir, "%s/layer", base);
	int fd = open(in, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || md_write_all(fd, data, size) < 0)
		__builtin_trap();
	lseek(fd, 0, SEEK_SET);
	struct md_layer_info li;
	if (md_layer_unpack(md_src_fd(fd), ldir, &li) == 0) {
		char got[MD_DIGEST_LEN + 1];
		uint64_t n;
		if (md_layer_rebuild(ldir, -1, NULL, got, &n) < 0 || strcmp(got, li.diff_id) != 0 || n != li.tar_size)
			__builtin_trap();
	}
	close(fd);
	md_rm_rf(ldir);
	return 0;
}
