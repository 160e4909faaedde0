/* fuzz_config.c -- fuzz target for signetd's configuration parser
 * (signer_config_parse over a memory buffer, libconfig inside).
 *
 * Properties: a refusal names a reason; an accepted config has every
 * required key, its bounds respected and a listen address that splits; a
 * client's name and type rules answer for its zones' apexes and a name
 * below them, allowing or refusing with a message. */
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
			for (size_t k = 0; k < c->nzones; k++) {
				FUZZ_CHECK(signer_client_has_zone(c, &c->zones[k]));
				static const uint8_t below[] = {1, '*', 15, '_', 'a', 'c', 'm', 'e',
								'-', 'c', 'h', 'a', 'l', 'l', 'e',
								'n', 'g', 'e'};
				dns_name owners[2] = {c->zones[k], c->zones[k]};
				if (c->zones[k].len + sizeof(below) <= DNS_NAME_MAX) {
					memcpy(owners[1].wire, below, sizeof(below));
					memcpy(owners[1].wire + sizeof(below), c->zones[k].wire,
					       c->zones[k].len);
					owners[1].len = (uint8_t)(c->zones[k].len + sizeof(below));
				}
				for (int o = 0; o < 2; o++) {
					char why[400] = "";
					signet_err r = signer_acl_allows(c->acl, &c->zones[k],
									 &owners[o], DNS_T_TXT, why,
									 sizeof(why));
					FUZZ_CHECK(r == SIGNET_OK || (r == SIGNET_EPERM && why[0]));
				}
			}
		}
		char host[256];
		uint16_t port = 0;
		bool loopback = false;
		(void)signer_address_split(cfg.listen, host, sizeof(host), &port, &loopback);
	}
	signer_config_free(&cfg);
	return 0;
}
