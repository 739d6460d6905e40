/* libFuzzer harness: mount point resolution inside a container's root.
 * Input: a path, then lines "NAME" (a directory) or "NAME<TAB>TARGET" (a
 * symlink) that build the root.  md_secure_join must land inside the root
 * with no ".", ".." or empty component; md_root_open of the result, asked
 * to create what is missing, must open something inside the root or
 * fail, and nothing may appear beside the root.  Both the openat2 and the
 * component walk (old kernels) are tried. */
#define MD_TEST 1
#include "../../minidock.c"

/* mkdir -p / symlink NAME below dirfd, one component at a time, never
 * following anything: the tree is built inside the root whatever NAME is. */
static void fz_make(int dirfd, char *name, const char *target)
{
	int fd = dup(dirfd);
	for (char *c = name, *e; fd >= 0 && *c; c = e) {
		e = c + strcspn(c, "/");
		int last = !*e;
		if (!last)
			*e++ = 0;
		if (!*c)
			continue;
		if (!strcmp(c, ".") || !strcmp(c, ".."))
			break;
		if (last && target) {
			symlinkat(target, fd, c);
			break;
		}
		mkdirat(fd, c, 0755);
		int nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	if (fd >= 0)
		close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char top[64], root[80];
	if (!top[0]) {
		snprintf(top, sizeof top, "/tmp/md-fuzz-rootpath-%d", (int)getpid());
		snprintf(root, sizeof root, "%s/root", top);
		mkdir(top, 0700);
	}
	char in[4096];
	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	md_rm_rf(root);
	if (mkdir(root, 0755) < 0)
		__builtin_trap();
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *line = strchr(in, '\n');
	if (line)
		*line++ = 0;
	for (int n = 0; line && n < 16; n++) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *tab = strchr(line, '\t');
		if (tab)
			*tab++ = 0;
		fz_make(rootfd, line, tab);
		line = next;
	}
	char out[PATH_MAX];
	size_t rl = strlen(root);
	for (int walk = 0; walk < 2; walk++) {
		md_no_openat2 = walk;
		if (md_secure_join(root, in, out, sizeof out) < 0)
			break;
		if (strncmp(out, root, rl) != 0 || (out[rl] && out[rl] != '/'))
			__builtin_trap();
		for (char *c = out + rl; *c;) {
			c++; /* the '/' */
			size_t l = strcspn(c, "/");
			if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
				__builtin_trap();
			c += l;
		}
		int fd = md_root_open(rootfd, out + rl, walk ? MD_MK_FILE : MD_MK_DIR, in);
		if (fd >= 0) {
			char l[64], got[PATH_MAX];
			snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
			ssize_t k = readlink(l, got, sizeof got - 1);
			if (k < 0)
				__builtin_trap();
			got[k] = 0;
			if (strncmp(got, root, rl) != 0 || (got[rl] && got[rl] != '/'))
				__builtin_trap();
			close(fd);
		}
	}
	/* nothing beside the root */
	DIR *d = opendir(top);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "root"))
			__builtin_trap();
	if (d)
		closedir(d);
	close(rootfd);
	return 0;
}
