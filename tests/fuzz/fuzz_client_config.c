/* fuzz_client_config.c -- fuzz target for the signet client's config file
 * parser (client_config_load over a temporary file, client_config_check).
 *
 * Properties: a refusal is SIGNET_EPARSE naming the file and a line of the
 * input, the lines before it load and the input up to it fails the same way;
 * an accepted config holds only values client_config_set accepts, leaves
 * keys absent from the file as they were, and loads back unchanged from its
 * own `KEY VALUE` form; client_config_check passes exactly when server, ca,
 * cert and key are set, else names the first one missing. */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/fuzz/fuzz.h"

/* client/config.c's limit on the file: larger ones fail in sg_file_read,
 * before any line is read. */
#define FILE_MAX (64 * 1024)
#define TIMEOUT_MAX_MS 3600000u

static char tmp_path[64];

static void remove_tmp(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
}

/* The loader takes a path: one temporary file per process, rewritten for
 * every load. */
static const char *write_tmp(const uint8_t *data, size_t size)
{
	if (!tmp_path[0]) {
		snprintf(tmp_path, sizeof(tmp_path), "/tmp/signet-fuzz-cc-XXXXXX");
		int fd = mkstemp(tmp_path);
		FUZZ_CHECK(fd >= 0);
		close(fd);
		atexit(remove_tmp);
	}
	FILE *f = fopen(tmp_path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);
	return tmp_path;
}

static signet_err load(const uint8_t *data, size_t size, client_config *cfg, char *msg,
		       size_t msglen)
{
	return client_config_load(write_tmp(data, size), cfg, msg, msglen);
}

struct field {
	const char *key;
	size_t off;
	bool path;
};

static const struct field fields[] = {
	{"server", offsetof(client_config, server), false},
	{"server-name", offsetof(client_config, server_name), false},
	{"ca", offsetof(client_config, ca), true},
	{"cert", offsetof(client_config, cert), true},
	{"key", offsetof(client_config, key), true},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static char *field_of(client_config *cfg, size_t i)
{
	return (char *)cfg + fields[i].off;
}

/* Two configs with every key set, to differ from each other in every key. */
static void preset(client_config *cfg, char tag)
{
	client_config_init(cfg);
	char v[32], msg[256];
	for (size_t i = 0; i < NFIELDS; i++) {
		snprintf(v, sizeof(v), "%spreset-%c", fields[i].path ? "/" : "", tag);
		FUZZ_CHECK(client_config_set(cfg, fields[i].key, v, msg, sizeof(msg)) == SIGNET_OK);
	}
	FUZZ_CHECK(client_config_set(cfg, "timeout", tag == 'b' ? "0.007" : "0.011", msg,
				     sizeof(msg)) == SIGNET_OK);
}

/* Where the file refused: the message is "PATH:LINE: reason". */
static void check_refusal(const uint8_t *data, size_t size, const char *msg)
{
	size_t plen = strlen(tmp_path);
	FUZZ_CHECK(strncmp(msg, tmp_path, plen) == 0 && msg[plen] == ':');
	char *end = NULL;
	unsigned long line = strtoul(msg + plen + 1, &end, 10);
	FUZZ_CHECK(end != msg + plen + 1 && end[0] == ':' && end[1] == ' ' && end[2] != '\0');
	FUZZ_CHECK(line >= 1);

	/* Find where line `line` starts and ends; it must exist in the input. */
	size_t start = 0;
	for (unsigned long l = 1; l < line; l++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		FUZZ_CHECK(nl != NULL);
		start = (size_t)(nl - data) + 1;
	}
	FUZZ_CHECK(start < size);
	const uint8_t *nl = memchr(data + start, '\n', size - start);
	size_t stop = nl ? (size_t)(nl - data) + 1 : size;

	client_config cfg;
	char again[1024] = "";
	client_config_init(&cfg);
	FUZZ_CHECK(load(data, start, &cfg, again, sizeof(again)) == SIGNET_OK);
	client_config_init(&cfg);
	FUZZ_CHECK(load(data, stop, &cfg, again, sizeof(again)) == SIGNET_EPARSE);
	FUZZ_CHECK(strcmp(again, msg) == 0);

	/* A short message buffer truncates, still terminated. */
	char tiny[6];
	memset(tiny, 'x', sizeof(tiny));
	client_config_init(&cfg);
	FUZZ_CHECK(load(data, size, &cfg, tiny, sizeof(tiny)) == SIGNET_EPARSE);
	FUZZ_CHECK(memchr(tiny, '\0', sizeof(tiny)) != NULL);
}

static void check_accepted(const uint8_t *data, size_t size, client_config *a)
{
	char msg[1024];
	client_config scratch;
	client_config_init(&scratch);
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *v = field_of(a, i);
		if (!v[0])
			continue;
		FUZZ_CHECK(client_config_set(&scratch, fields[i].key, v, msg, sizeof(msg)) ==
			   SIGNET_OK);
		FUZZ_CHECK(!fields[i].path || v[0] == '/');
	}
	FUZZ_CHECK(a->timeout_ms >= 1 && a->timeout_ms <= TIMEOUT_MAX_MS);

	/* Keys absent from the file keep the value they had. */
	client_config b, c;
	preset(&b, 'b');
	preset(&c, 'c');
	client_config pb = b, pc = c;
	FUZZ_CHECK(load(data, size, &b, msg, sizeof(msg)) == SIGNET_OK);
	FUZZ_CHECK(load(data, size, &c, msg, sizeof(msg)) == SIGNET_OK);
	bool given[NFIELDS];
	for (size_t i = 0; i < NFIELDS; i++) {
		given[i] = strcmp(field_of(&b, i), field_of(&c, i)) == 0;
		if (given[i]) {
			FUZZ_CHECK(strcmp(field_of(&b, i), field_of(a, i)) == 0);
		} else {
			FUZZ_CHECK(strcmp(field_of(&b, i), field_of(&pb, i)) == 0);
			FUZZ_CHECK(strcmp(field_of(&c, i), field_of(&pc, i)) == 0);
			FUZZ_CHECK(field_of(a, i)[0] == '\0');
		}
	}
	bool timeout_given = b.timeout_ms == c.timeout_ms;
	if (timeout_given) {
		FUZZ_CHECK(b.timeout_ms == a->timeout_ms);
	} else {
		FUZZ_CHECK(b.timeout_ms == pb.timeout_ms && c.timeout_ms == pc.timeout_ms);
		FUZZ_CHECK(a->timeout_ms == CLIENT_TIMEOUT_DEFAULT_MS);
	}

	/* Written back as KEY VALUE lines (the timeout in seconds with
	 * millisecond digits), the config loads to the same values. */
	char text[NFIELDS * (CLIENT_PATH_MAX + 16) + 64];
	size_t len = 0;
	for (size_t i = 0; i < NFIELDS; i++)
		if (given[i])
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s %s\n",
						fields[i].key, field_of(a, i));
	if (timeout_given)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "timeout %u.%03u\n",
					a->timeout_ms / 1000, a->timeout_ms % 1000);
	FUZZ_CHECK(len < sizeof(text));
	client_config d;
	client_config_init(&d);
	FUZZ_CHECK(load((const uint8_t *)text, len, &d, msg, sizeof(msg)) == SIGNET_OK);
	for (size_t i = 0; i < NFIELDS; i++)
		FUZZ_CHECK(strcmp(field_of(&d, i), field_of(a, i)) == 0);
	FUZZ_CHECK(d.timeout_ms == a->timeout_ms);

	/* check passes exactly when the four needed keys are set. */
	static const char *const needed[] = {"server", "ca", "cert", "key"};
	static const size_t needed_field[] = {0, 2, 3, 4};
	const char *missing = NULL;
	for (size_t k = 0; k < 4 && !missing; k++)
		if (!field_of(a, needed_field[k])[0])
			missing = needed[k];
	msg[0] = '\0';
	signet_err err = client_config_check(a, msg, sizeof(msg));
	if (missing) {
		FUZZ_CHECK(err == SIGNET_EINVAL);
		FUZZ_CHECK(msg[0] != '\0' && strstr(msg, missing) != NULL);
	} else {
		FUZZ_CHECK(err == SIGNET_OK);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	client_config a;
	client_config_init(&a);
	char msg[1024] = "";
	signet_err err = load(data, size, &a, msg, sizeof(msg));
	if (err != SIGNET_OK) {
		FUZZ_CHECK(msg[0] != '\0');
		if (size > FILE_MAX)
			return 0;
		FUZZ_CHECK(err == SIGNET_EPARSE);
		check_refusal(data, size, msg);
	} else {
		FUZZ_CHECK(size <= FILE_MAX);
		check_accepted(data, size, &a);
	}
	return 0;
}
