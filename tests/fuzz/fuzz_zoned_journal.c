/* fuzz_zoned_journal.c -- fuzz target for signet-zoned's journal file
 * (zoned_journal_load: its records, length and checksum, then
 * zoned_journal_read over their payloads; or a file of the older form
 * without records).
 *
 * Properties: a refused journal is left empty; an accepted one has steps
 * that follow on (each from the previous one's to), SOAs whose serials are
 * the step's, and stays within its bounds; written back and read again it
 * gives the same text. */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "zoned/zoned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	dns_name apex;
	FUZZ_CHECK(dns_name_from_str(&apex, "example.com.") == SIGNET_OK);
	/* The serial the journal must lead to: the seeds' newest. */
	uint32_t newest = 102;
	zoned_journal j;
	zoned_journal_init(&j, 8, 1000);
	char note[160];
	signet_err ret =
		zoned_journal_load(&j, &apex, (const char *)data, size, newest, note, sizeof(note));
	if (ret != SIGNET_OK) {
		FUZZ_CHECK(j.count == 0 && j.rrs == 0);
		zoned_journal_free(&j);
		return 0;
	}
	FUZZ_CHECK(j.count <= 8 && j.rrs <= 1000);
	for (size_t i = 0; i < j.count; i++) {
		const zoned_step *s = &j.steps[i];
		FUZZ_CHECK(i == 0 || s->from == j.steps[i - 1].to);
		FUZZ_CHECK(s->soa_from.count == 1 && s->soa_to.count == 1);
		FUZZ_CHECK(s->rrs == s->d.ndel + s->d.nadd);
	}
	size_t first = 0;
	FUZZ_CHECK(j.count == 0 || j.steps[j.count - 1].to == newest ||
		   zoned_journal_find(&j, newest, &first) == SIGNET_OK);
	sg_buf a = SG_BUF_INIT, b = SG_BUF_INIT;
	FUZZ_CHECK(zoned_journal_write(&j, &a) == SIGNET_OK);
	zoned_journal again;
	zoned_journal_init(&again, 8, 1000);
	FUZZ_CHECK(zoned_journal_read(&again, &apex, (const char *)a.data, a.len, newest) ==
		   SIGNET_OK);
	FUZZ_CHECK(zoned_journal_write(&again, &b) == SIGNET_OK);
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	sg_buf_free(&a);
	sg_buf_free(&b);
	zoned_journal_free(&again);
	zoned_journal_free(&j);
	return 0;
}
