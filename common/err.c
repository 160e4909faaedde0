/* err.c -- the project-wide error enum: names, messages, errno mapping. */
#include <errno.h>

#include "common/common.h"

struct err_entry {
	const char *name;
	const char *text;
};

static const struct err_entry err_table[SIGNET_ERR_COUNT] = {
	[SIGNET_OK] = {"SIGNET_OK", "success"},
	[SIGNET_EINVAL] = {"SIGNET_EINVAL", "invalid argument"},
	[SIGNET_ENOMEM] = {"SIGNET_ENOMEM", "out of memory"},
	[SIGNET_ERANGE] = {"SIGNET_ERANGE", "value or size out of range"},
	[SIGNET_EPARSE] = {"SIGNET_EPARSE", "malformed input"},
	[SIGNET_ENOTFOUND] = {"SIGNET_ENOTFOUND", "not found"},
	[SIGNET_EEXIST] = {"SIGNET_EEXIST", "already exists"},
	[SIGNET_EIO] = {"SIGNET_EIO", "input/output error"},
	[SIGNET_EPERM] = {"SIGNET_EPERM", "permission denied"},
	[SIGNET_EUNSUPPORTED] = {"SIGNET_EUNSUPPORTED", "not supported"},
	[SIGNET_ECRYPTO] = {"SIGNET_ECRYPTO", "cryptographic library failure"},
	[SIGNET_EVERIFY] = {"SIGNET_EVERIFY", "verification failed"},
	[SIGNET_ETIME] = {"SIGNET_ETIME", "outside the validity window"},
	[SIGNET_EHSM] = {"SIGNET_EHSM", "HSM failure"},
	[SIGNET_EHSM_PIN] = {"SIGNET_EHSM_PIN", "wrong PIN"},
	[SIGNET_EHSM_LOCKED] = {"SIGNET_EHSM_LOCKED", "PIN locked or login refused"},
	[SIGNET_EHSM_DOWN] = {"SIGNET_EHSM_DOWN", "HSM token unavailable"},
	[SIGNET_EHSM_KEY] = {"SIGNET_EHSM_KEY", "key unusable or unsafe"},
	[SIGNET_EDENIED] = {"SIGNET_EDENIED", "not authorised"},
	[SIGNET_EQUORUM] = {"SIGNET_EQUORUM", "quorum not reached"},
	[SIGNET_ELIMIT] = {"SIGNET_ELIMIT", "limit exceeded"},
	[SIGNET_ESTATE] = {"SIGNET_ESTATE", "operation not allowed in this state"},
};

const char *signet_strerror(signet_err err)
{
	if ((unsigned)err >= SIGNET_ERR_COUNT)
		return "unknown error";
	return err_table[err].text;
}

const char *signet_errname(signet_err err)
{
	if ((unsigned)err >= SIGNET_ERR_COUNT)
		return "SIGNET_E?";
	return err_table[err].name;
}

signet_err signet_err_from_errno(int e)
{
	switch (e) {
	case 0:
		return SIGNET_OK;
	case ENOMEM:
		return SIGNET_ENOMEM;
	case EINVAL:
		return SIGNET_EINVAL;
	case ENOENT:
	case ENOTDIR:
		return SIGNET_ENOTFOUND;
	case EEXIST:
		return SIGNET_EEXIST;
	case EACCES:
	case EPERM:
	case EROFS:
		return SIGNET_EPERM;
	case EFBIG:
	case ERANGE:
	case ENAMETOOLONG:
	case EOVERFLOW:
		return SIGNET_ERANGE;
	case EAGAIN:
	case EMFILE:
	case ENFILE:
		return SIGNET_ELIMIT;
	default:
		return SIGNET_EIO;
	}
}
