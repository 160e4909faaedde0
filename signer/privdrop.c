/* privdrop.c -- becoming the unprivileged user after start-up, for good. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "signer/signer.h"

#define GROUPS_MAX 64

static signet_err step_failed(char *errmsg, size_t errlen, const char *what)
{
	if (errmsg && errlen)
		snprintf(errmsg, errlen, "%s: %s", what, strerror(errno));
	return SIGNET_EPERM;
}

signet_err signer_drop_privileges(const char *user, char *errmsg, size_t errlen)
{
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!user || !user[0])
		return SIGNET_EINVAL;
	struct passwd pw, *found = NULL;
	char pwbuf[4096];
	int e = getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &found);
	if (e != 0 || !found) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "no such user: %s", user);
		return SIGNET_ENOTFOUND;
	}
	if (pw.pw_uid == 0) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "user %s is root: nothing would be dropped", user);
		return SIGNET_EPERM;
	}
	if (geteuid() != 0) {
		/* Started as the user already (a service manager's User=): there
		 * is nothing to give up but the chance of gaining more. */
		if (getuid() != pw.pw_uid || geteuid() != pw.pw_uid) {
			if (errmsg && errlen)
				snprintf(errmsg, errlen, "running as uid %u, cannot become %s",
					 (unsigned)geteuid(), user);
			return SIGNET_EPERM;
		}
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			return step_failed(errmsg, errlen, "PR_SET_NO_NEW_PRIVS");
		return SIGNET_OK;
	}
	gid_t groups[GROUPS_MAX];
	int ngroups = GROUPS_MAX;
	if (getgrouplist(user, pw.pw_gid, groups, &ngroups) < 0)
		ngroups = 0; /* more than we keep: only the primary group */

	/* The bounding set can only shrink while CAP_SETPCAP is held, so it
	 * goes first; the ambient set would otherwise survive an exec. */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			return step_failed(errmsg, errlen, "PR_CAPBSET_DROP");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return step_failed(errmsg, errlen, "PR_CAP_AMBIENT_CLEAR_ALL");
	if (setgroups((size_t)(ngroups > 0 ? ngroups : 1), ngroups > 0 ? groups : &pw.pw_gid) != 0)
		return step_failed(errmsg, errlen, "setgroups");
	if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0)
		return step_failed(errmsg, errlen, "setresgid");
	/* Moving every uid off 0 clears the permitted and effective
	 * capabilities (no SECBIT_KEEP_CAPS is set). glibc applies it to every
	 * thread of the process, gRPC's and the workers' included. */
	if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0)
		return step_failed(errmsg, errlen, "setresuid");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return step_failed(errmsg, errlen, "PR_SET_NO_NEW_PRIVS");
	/* A change of credentials resets the dumpable flag to
	 * fs.suid_dumpable, which may be 1 or 2: the PIN copy in memory must
	 * stay out of core files and away from ptrace. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return step_failed(errmsg, errlen, "PR_SET_DUMPABLE");
	if (setuid(0) == 0 || seteuid(0) == 0) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "uid 0 could be regained after the drop");
		return SIGNET_EPERM;
	}
	return SIGNET_OK;
}
