/* fuzz_parent_watch.c -- fuzz target for `signet parent-watch`'s two files:
 * the agents file (pw_config_load) and the state file (pw_state_load), both
 * read from the same input.
 *
 * Properties: a refused file is SIGNET_EPARSE (or ERANGE/EFBIG for size)
 * with a message, and nothing is left allocated; an accepted agents file
 * has 1..1024 zones, each with 1..16 agents of a known kind whose ids are
 * printable and short enough for ConfirmDs, no address twice in a zone; an
 * accepted state file saves and loads back to the same entries. */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "client/parent_watch.h"
#include "tests/fuzz/fuzz.h"

static char tmp_path[64], save_path[80];

static void remove_tmp(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
	if (save_path[0])
		unlink(save_path);
}

static const char *write_tmp(const uint8_t *data, size_t size)
{
	if (!tmp_path[0]) {
		snprintf(tmp_path, sizeof(tmp_path), "/tmp/signet-fuzz-pw-XXXXXX");
		int fd = mkstemp(tmp_path);
		FUZZ_CHECK(fd >= 0);
		close(fd);
		snprintf(save_path, sizeof(save_path), "%s.saved", tmp_path);
		atexit(remove_tmp);
	}
	FILE *f = fopen(tmp_path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);
	return tmp_path;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static void agents(const char *path)
{
	pw_config cfg;
	char err[1200] = "";
	signet_err ret = pw_config_load(path, &cfg, err, sizeof(err));
	if (ret != SIGNET_OK) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(cfg.zones == NULL && cfg.nzones == 0);
		return;
	}
	FUZZ_CHECK(cfg.nzones >= 1 && cfg.nzones <= PW_ZONES_MAX);
	for (size_t z = 0; z < cfg.nzones; z++) {
		const pw_zone *pz = &cfg.zones[z];
		FUZZ_CHECK(pz->nagents >= 1 && pz->nagents <= PW_AGENTS_MAX);
		for (size_t a = 0; a < pz->nagents; a++) {
			const pw_agent *ag = &pz->agents[a];
			FUZZ_CHECK(ag->kind == PW_AUTH || ag->kind == PW_RESOLVER);
			FUZZ_CHECK(ag->server.recurse == (ag->kind == PW_RESOLVER));
			FUZZ_CHECK(ag->server.port >= 1);
			size_t n = strlen(ag->id);
			FUZZ_CHECK(n >= 1 && n < PW_AGENT_ID_MAX && printable(ag->id));
			for (size_t b = 0; b < a; b++)
				FUZZ_CHECK(strcmp(pz->agents[b].id, ag->id) != 0);
		}
		for (size_t y = 0; y < z; y++)
			FUZZ_CHECK(!dns_name_equal(&cfg.zones[y].zone, &pz->zone));
	}
	pw_config_free(&cfg);
}

static void state(const char *path)
{
	pw_state st, back;
	char err[1200] = "";
	signet_err ret = pw_state_load(path, &st, err, sizeof(err));
	if (ret != SIGNET_OK) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(st.e == NULL && st.n == 0);
		return;
	}
	ret = pw_state_save(save_path, &st);
	if (ret == SIGNET_OK) {
		FUZZ_CHECK(pw_state_load(save_path, &back, err, sizeof(err)) == SIGNET_OK);
		FUZZ_CHECK(back.n == st.n);
		for (size_t i = 0; i < st.n; i++) {
			const pw_seen *a = &st.e[i], *b = &back.e[i];
			FUZZ_CHECK(dns_name_equal(&a->zone, &b->zone) && a->tag == b->tag &&
				   a->alg == b->alg && a->first == b->first &&
				   strcmp(a->agent, b->agent) == 0);
		}
		pw_state_free(&back);
	} else {
		FUZZ_CHECK(ret == SIGNET_ERANGE);
	}
	pw_state_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = write_tmp(data, size);
	agents(path);
	state(path);
	return 0;
}
