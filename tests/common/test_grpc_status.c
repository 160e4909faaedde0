/* test_grpc_status.c -- common's names of gRPC status codes against
 * gRPC's own header: each code's name is its enum constant's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <grpc/status.h>

#include "common/common.h"

/* The expected name is gRPC's identifier itself, so a table shifted by
 * one or a misspelled name fails. */
#define CODE(c) {GRPC_STATUS_##c, #c}
static const struct {
	grpc_status_code code;
	const char *name;
} codes[] = {
	CODE(OK),
	CODE(CANCELLED),
	CODE(UNKNOWN),
	CODE(INVALID_ARGUMENT),
	CODE(DEADLINE_EXCEEDED),
	CODE(NOT_FOUND),
	CODE(ALREADY_EXISTS),
	CODE(PERMISSION_DENIED),
	CODE(RESOURCE_EXHAUSTED),
	CODE(FAILED_PRECONDITION),
	CODE(ABORTED),
	CODE(OUT_OF_RANGE),
	CODE(UNIMPLEMENTED),
	CODE(INTERNAL),
	CODE(UNAVAILABLE),
	CODE(DATA_LOSS),
	CODE(UNAUTHENTICATED),
};

static void test_every_code_named(void **state)
{
	(void)state;
	assert_int_equal(sizeof(codes) / sizeof(codes[0]), SG_GRPC_STATUS_COUNT);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_string_equal(sg_grpc_status_name((int)codes[i].code), codes[i].name);
	/* The count covers gRPC's last code and no more. */
	assert_int_equal(GRPC_STATUS_UNAUTHENTICATED + 1, SG_GRPC_STATUS_COUNT);
}

static void test_outside_named_unknown(void **state)
{
	(void)state;
	assert_string_equal(sg_grpc_status_name(-1), "UNKNOWN_STATUS");
	assert_string_equal(sg_grpc_status_name(SG_GRPC_STATUS_COUNT), "UNKNOWN_STATUS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_named),
		cmocka_unit_test(test_outside_named_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
