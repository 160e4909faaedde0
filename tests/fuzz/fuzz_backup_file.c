/* fuzz_backup_file.c -- fuzz target for the key backup file (hsm_backup_decode), which
 * signetd --restore-backups, restore-ksk, export-ds and sign-keyset read from
 * directories an operator fills.
 *
 * Properties: a refused file leaves nothing allocated; a file that parses has its
 * fields in bounds, encodes without error, and the encoding parses again to the same
 * fields (what the restore checks is what the file says). */
#include <string.h>

#include "hsm/hsm.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hsm_backup b, again;
	memset(&b, 0, sizeof(b));
	if (hsm_backup_decode(data, size, &b, NULL, 0) != SIGNET_OK) {
		FUZZ_CHECK(b.pub.data == NULL && b.wrapped.data == NULL);
		return 0;
	}
	FUZZ_CHECK(b.id_len > 0 && b.id_len <= HSM_ID_MAX);
	FUZZ_CHECK(strlen(b.label) > 0 && strlen(b.label) <= HSM_LABEL_MAX);
	FUZZ_CHECK(b.pub.len > 0 && b.wrapped.len > 0 && b.wrapped.len <= HSM_WRAPPED_MAX);
	sg_buf text = SG_BUF_INIT;
	FUZZ_CHECK(hsm_backup_encode(&b, &text, NULL, 0) == SIGNET_OK);
	FUZZ_CHECK(hsm_backup_decode(text.data, text.len, &again, NULL, 0) == SIGNET_OK);
	FUZZ_CHECK(memcmp(b.domain_id, again.domain_id, HSM_ID_LEN) == 0);
	FUZZ_CHECK(b.id_len == again.id_len && memcmp(b.id, again.id, b.id_len) == 0);
	FUZZ_CHECK(strcmp(b.label, again.label) == 0 && b.alg == again.alg &&
		   b.key_tag == again.key_tag);
	FUZZ_CHECK(b.pub.len == again.pub.len &&
		   memcmp(b.pub.data, again.pub.data, b.pub.len) == 0);
	FUZZ_CHECK(b.wrapped.len == again.wrapped.len &&
		   memcmp(b.wrapped.data, again.wrapped.data, b.wrapped.len) == 0);
	sg_buf_free(&text);
	hsm_backup_free(&b);
	hsm_backup_free(&again);
	return 0;
}
