/* fuzz_config.c -- fuzz target for signetd's configuration parser
 * (signer_config_parse over a memory buffer, libconfig inside).
 *
 * Properties: a refusal names a reason; an accepted config has every
 * required key, its bounds respected and a listen address that splits. */
#include <string.h>

#include "signer/signer.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	signer_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX] = "";
	signet_err err = signer_config_parse((const char *)data, size, &cfg, &line, msg,
					     sizeof(msg));
	if (err != SIGNET_OK) {
		FUZZ_CHECK(msg[0] != '\0');
	} else {
		FUZZ_CHECK(cfg.listen[0] && cfg.tls_cert[0] && cfg.tls_key[0] && cfg.tls_ca[0]);
		FUZZ_CHECK(cfg.pkcs11_module[0] && cfg.token_label[0] && cfg.pin_spec[0]);
		FUZZ_CHECK(cfg.state_dir[0] && cfg.nclients > 0 && cfg.clients != NULL);
		FUZZ_CHECK(cfg.workers >= 1 && cfg.workers <= SIGNER_WORKERS_MAX);
		FUZZ_CHECK(cfg.nclients <= SIGNER_CLIENTS_MAX);
		for (size_t i = 0; i < cfg.nclients; i++) {
			const signer_client *c = &cfg.clients[i];
			FUZZ_CHECK(c->nzones <= SIGNER_CLIENT_ZONES_MAX);
			FUZZ_CHECK(signer_config_client(&cfg, c->identity) != NULL);
			for (size_t k = 0; k < c->nzones; k++)
				FUZZ_CHECK(signer_client_has_zone(c, &c->zones[k]));
		}
		char host[256];
		uint16_t port = 0;
		bool loopback = false;
		(void)signer_address_split(cfg.listen, host, sizeof(host), &port, &loopback);
	}
	signer_config_free(&cfg);
	return 0;
}
