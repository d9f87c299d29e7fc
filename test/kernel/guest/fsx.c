/*
 * fsx-style random-operations checker for the kernel-client guest (built static by
 * test/kernel/harness.ts: gcc -static -O2). One file, random pwrite / pread / ftruncate /
 * fstat / fsync / close-and-reopen, every result checked against an in-memory model of what
 * the file must hold; no mmap (a 9p mount without a cache has no coherent page cache).
 *
 *   fsx FILE OPS SEED [MAXLEN [MAXOP]]      (default 256 KiB, 72 KiB)
 *
 * Prints "fsx: OPS ops ... ok" and "model-sha256: HEX" (of the final contents, so the host can
 * check the file on disk) and exits 0; on the first mismatch prints the operation, where the
 * bytes differ, the last operations, and exits 1. Operations larger than the mount's msize
 * span several 9P messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng;
static uint64_t next(void) { /* xorshift64* */
	rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}
static uint64_t below(uint64_t n) { return n ? next() % n : 0; }

static const char *path;
static int fd = -1;
static unsigned char *model, *buf;
static size_t size, maxlen, maxop;
static long opno;

#define LOGN 24
static char oplog[LOGN][96];

/* fmt takes up to two longs (unused ones are ignored) */
static void logop(const char *fmt, long a, long b) {
	snprintf(oplog[opno % LOGN], sizeof oplog[0], "%6ld ", opno);
	size_t n = strlen(oplog[opno % LOGN]);
	snprintf(oplog[opno % LOGN] + n, sizeof oplog[0] - n, fmt, a, b);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	printf("fsx: FAIL at op %ld: ", opno);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nfsx: model size %zu; last operations:\n", size);
	for (long i = opno - LOGN + 1; i <= opno; i++)
		if (i >= 0) printf("  %s\n", oplog[i % LOGN]);
	exit(1);
}

static void reopen(void) {
	if (fd >= 0 && close(fd) < 0) die("close: %s", strerror(errno));
	fd = open(path, O_RDWR);
	if (fd < 0) die("open %s: %s", path, strerror(errno));
}

static void check(size_t off, size_t len, const unsigned char *got, const char *what) {
	if (memcmp(got, model + off, len) == 0) return;
	size_t i = 0;
	while (got[i] == model[off + i]) i++;
	size_t j = len;
	while (got[j - 1] == model[off + j - 1]) j--;
	die("%s [%zu, +%zu): bytes %zu..%zu differ (first: got 0x%02x, want 0x%02x)", what, off, len, off + i, off + j - 1, got[i], model[off + i]);
}

static void readcheck(size_t off, size_t len, const char *what) {
	size_t want = off >= size ? 0 : (off + len > size ? size - off : len), got = 0;
	for (;;) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0) die("%s pread [%zu, +%zu): %s", what, off, len, strerror(errno));
		if (n == 0) break;
		got += (size_t)n;
		if (got == len) break;
	}
	if (got != want) die("%s [%zu, +%zu): read %zu bytes, want %zu (file size %zu)", what, off, len, got, want, size);
	check(off, got, buf, what);
}

int main(int argc, char **argv) {
	if (argc < 4) { fprintf(stderr, "usage: fsx FILE OPS SEED [MAXLEN [MAXOP]]\n"); return 2; }
	path = argv[1];
	long ops = atol(argv[2]);
	rng = strtoull(argv[3], 0, 10) * 0x9E3779B97F4A7C15ULL + 1;
	maxlen = argc > 4 ? strtoul(argv[4], 0, 10) : 256 * 1024;
	maxop = argc > 5 ? strtoul(argv[5], 0, 10) : 72 * 1024;
	model = calloc(maxlen, 1);
	buf = malloc((maxlen > maxop ? maxlen : maxop) + 8);
	if (!model || !buf) { perror("malloc"); return 2; }
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) { printf("fsx: FAIL: create %s: %s\n", path, strerror(errno)); return 1; }
	long counts[6] = {0};
	for (opno = 0; opno < ops; opno++) {
		unsigned r = (unsigned)below(100);
		if (r < 38) { /* write */
			size_t off = below(maxlen), len = 1 + below(maxop);
			if (off + len > maxlen) len = maxlen - off;
			for (size_t i = 0; i < len; i += 8) { uint64_t v = next(); memcpy(buf + i, &v, 8); }
			logop("write  [%ld, +%ld)", (long)off, (long)len);
			size_t done = 0;
			while (done < len) {
				ssize_t n = pwrite(fd, buf + done, len - done, (off_t)(off + done));
				if (n <= 0) die("pwrite [%zu, +%zu): %s", off, len, n < 0 ? strerror(errno) : "wrote 0");
				done += (size_t)n;
			}
			memcpy(model + off, buf, len);
			if (off + len > size) size = off + len;
			counts[0]++;
		} else if (r < 76) { /* read */
			size_t off = below(size + 1 + size / 8), len = 1 + below(maxop);
			if (off > maxlen) off = maxlen;
			if (off + len > maxlen) len = maxlen > off ? maxlen - off : 1;
			logop("read   [%ld, +%ld)", (long)off, (long)len);
			readcheck(off, len, "read");
			counts[1]++;
		} else if (r < 86) { /* truncate */
			size_t ns = below(maxlen);
			logop("trunc  %ld -> %ld", (long)size, (long)ns);
			if (ftruncate(fd, (off_t)ns) < 0) die("ftruncate %zu: %s", ns, strerror(errno));
			if (ns < size) memset(model + ns, 0, size - ns);
			size = ns;
			counts[2]++;
		} else if (r < 93) { /* close and reopen */
			logop("reopen", 0, 0);
			reopen();
			counts[3]++;
		} else if (r < 98) { /* fstat */
			struct stat st;
			logop("fstat  want %ld", (long)size, 0);
			if (fstat(fd, &st) < 0) die("fstat: %s", strerror(errno));
			if ((size_t)st.st_size != size) die("fstat size %lld, want %zu", (long long)st.st_size, size);
			counts[4]++;
		} else { /* fsync */
			logop("fsync", 0, 0);
			if (fsync(fd) < 0) die("fsync: %s", strerror(errno));
			counts[5]++;
		}
	}
	/* the whole file, through a fresh open */
	reopen();
	struct stat st;
	if (fstat(fd, &st) < 0) die("final fstat: %s", strerror(errno));
	if ((size_t)st.st_size != size) die("final size %lld, want %zu", (long long)st.st_size, size);
	logop("final read [0, +%ld)", (long)size, 0);
	readcheck(0, size + 1 > maxlen ? size : size + 1, "final read");
	close(fd);
	printf("fsx: %ld ops (%ld writes, %ld reads, %ld truncates, %ld reopens, %ld fstats, %ld fsyncs), final size %zu: ok\n",
	       ops, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], size);
	/* the model's contents, to compare with the file on the host (written for sha256sum) */
	FILE *m = fopen("/tmp/fsx-model", "w");
	if (!m || fwrite(model, 1, size, m) != size || fclose(m) != 0) { perror("/tmp/fsx-model"); return 2; }
	return 0;
}
