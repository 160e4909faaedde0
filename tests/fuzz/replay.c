/* replay.c -- feeds every file of the folders named on the command line to a
 * fuzz target's entry point, so saved crashes and seeds run as ordinary tests
 * in the plain and sanitizer builds, without clang or libFuzzer. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"

#define REPLAY_FILE_MAX (1024 * 1024)

/* Run one file; a crash ends the process, which is the failure ctest sees. */
static int replay_file(const char *path)
{
	sg_buf b = SG_BUF_INIT;
	signet_err err = sg_file_read(path, REPLAY_FILE_MAX, &b);
	if (err != SIGNET_OK) {
		fprintf(stderr, "replay: %s: %s\n", path, signet_strerror(err));
		return -1;
	}
	/* An empty file is a valid input: give the target a non-NULL pointer
	 * as libFuzzer does. */
	static const uint8_t empty[1];
	LLVMFuzzerTestOneInput(b.data ? b.data : empty, b.len);
	sg_buf_free(&b);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of dir in name order; *count grows by the files run. */
static int replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: cannot open %s\n", dir);
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				rc = -1;
				break;
			}
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (!names[n])
			rc = -1;
		else
			n++;
	}
	closedir(d);
	if (rc == 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		fprintf(stderr, "replay: %s\n", path);
		rc = replay_file(path);
		if (rc == 0)
			(*count)++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR...\n", argv[0]);
		return 2;
	}
	size_t count = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		/* A target with no crash saved yet has no regressions folder. */
		if (stat(argv[i], &st) != 0)
			continue;
		if (replay_dir(argv[i], &count) != 0)
			return 1;
	}
	/* Seeds always exist: replaying nothing means the test lost its inputs. */
	if (count == 0) {
		fprintf(stderr, "replay: no input files found\n");
		return 1;
	}
	printf("replay: %zu inputs ran without a crash\n", count);
	return 0;
}
