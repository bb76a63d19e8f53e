/* fuzz_config.c - the config loader (config.c over inifile.c) on an
 * arbitrary file: config_load must either give a config (then dumped,
 * secrets hidden) or a "path:line: ..." error, never crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char path[64];
static FILE *devnull;

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull) {
		snprintf(path, sizeof path, "/tmp/fuzz-config-%ld.ini", (long)getpid());
		devnull = fopen("/dev/null", "w");
		if (!devnull)
			abort();
		log_set_level(LOGL_ERROR);
		atexit(cleanup);
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	char err[512];
	err[0] = '\0';
	struct config *c = config_load(path, err, sizeof err);
	if (c) {
		config_dump(c, devnull);
		config_free(c);
	} else if (!err[0] || !memchr(err, '\0', sizeof err)) {
		abort(); /* a refusal must say why */
	}
	return 0;
}
