/* p11fault.c -- a PKCS#11 module for fault-injection tests: it forwards
 * every call to a real module and, on command, makes some of them fail,
 * sleep or return a corrupted signature.
 *
 * P11FAULT_MODULE names the real module (SoftHSM2). P11FAULT_CONTROL names a
 * control file, read again on every call that can be faulted, so a test
 * changes the fault of a running process by rewriting the file (write a new
 * file and rename it over the old one). Its words, separated by blanks:
 *   error=device|session|removed  C_Sign (and, for removed, C_SignInit,
 *                                 C_GetTokenInfo, C_OpenSession, C_Login)
 *                                 return CKR_DEVICE_ERROR,
 *                                 CKR_SESSION_HANDLE_INVALID or
 *                                 CKR_DEVICE_REMOVED
 *   on=initpin|setpin             the error is C_InitPIN's or C_SetPIN's
 *                                 instead (C_Sign and the others then go
 *                                 through): the PIN is not changed
 *   absent=0xTYPE                 C_GetAttributeValue says the module
 *                                 does not know attribute TYPE
 *                                 (CKR_ATTRIBUTE_TYPE_INVALID, its length
 *                                 CK_UNAVAILABLE_INFORMATION) on every
 *                                 object; up to 4 such words
 *   wrap_pad=pkcs7                C_WrapKey with CKM_AES_KEY_WRAP_PAD does
 *                                 what PKCS#11 2.40 (and NSS's softokn)
 *                                 call that: RFC 3394 (the real module's
 *                                 CKM_AES_KEY_WRAP) after PKCS#7 padding,
 *                                 for a key whose CKA_VALUE reads out
 *   count=N                       only the first N faulted calls after the
 *                                 file changed fail (default: all of them)
 *   skip=N                        the first N calls the fault would apply
 *                                 to after the file changed go through
 *                                 untouched (a fault that starts mid-run)
 *   sleep_ms=N                    C_Sign sleeps N ms (at most 10 s) first
 *   corrupt                       C_Sign flips one bit of every signature
 *   close_sessions                C_Sign first closes every session of every
 *                                 slot this process has sessions on
 *                                 (C_CloseAllSessions of the real module:
 *                                 the token also logs the application
 *                                 out), as a token reset does; the call
 *                                 then goes on with its now invalid
 *                                 handle. Use with count=1
 *   hold                          C_Sign waits, before it signs, until the
 *                                 file P11FAULT_CONTROL.release exists or
 *                                 the control file no longer says hold (at
 *                                 most 60 s); each call appends one octet to
 *                                 P11FAULT_CONTROL.held as it starts to
 *                                 wait, so a test knows which calls are in
 *                                 flight and releases them when it chooses
 * An absent or empty file means no fault. Every faulted call is counted in
 * the file P11FAULT_CONTROL.hits (one octet appended per call), so a test
 * can tell that its fault was reached.
 *
 * Sessions are counted too, whatever the fault: at every C_Finalize and at
 * the process's exit a line "pid=P comm=NAME at=finalize|exit opened=N
 * closed=N open=N swept=N sweeps=N" is appended to P11FAULT_CONTROL.sessions,
 * where closed counts C_CloseSession and the sessions C_CloseAllSessions
 * closed, open those neither closed (C_Finalize then closes them for the
 * caller: a test calls that a leak), swept the sessions C_CloseAllSessions
 * closed and sweeps its calls. A token's close sweeps its slot after the
 * logout, which may close its own login session and nothing else: a sweep
 * that closes more hides sessions the caller forgot. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define CONTROL_MAX 512
#define SLEEP_MAX_MS 10000
#define HOLD_MAX_MS 60000
#define SESSIONS_MAX 4096

typedef enum fault_error { F_NONE, F_DEVICE, F_SESSION, F_REMOVED } fault_error;
/* The call an error= applies to: C_Sign (and its kin for removed) or a
 * PIN change. */
typedef enum fault_on { ON_SIGN, ON_INITPIN, ON_SETPIN } fault_on;

typedef struct fault {
	fault_error error;
	fault_on on;
	CK_ATTRIBUTE_TYPE absent[4]; /* attributes C_GetAttributeValue hides */
	size_t nabsent;
	bool wrap_pkcs7;
	long count;        /* faulted calls allowed after a change; -1: unbounded */
	long skip;         /* calls let through first */
	long sleep_ms;
	bool corrupt;
	bool hold;
	bool close_sessions;
} fault;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *real_dl;
static CK_FUNCTION_LIST *real;         /* the real module's list */
static CK_FUNCTION_LIST wrapped;       /* ours: real's, a few entries replaced */
static char last_text[CONTROL_MAX];    /* control text the counter belongs to */
static long used;                      /* faulted calls since it changed */
/* Sessions open now (handle and slot), and the totals since C_Initialize. */
static struct { CK_SESSION_HANDLE h; CK_SLOT_ID slot; } open_sessions[SESSIONS_MAX];
static unsigned long swept, sweeps; /* C_CloseAllSessions: sessions it closed, calls */
static size_t nopen;
static unsigned long opened, closed;

static void parse(const char *text, fault *f)
{
	memset(f, 0, sizeof(*f));
	f->count = -1;
	char buf[CONTROL_MAX];
	snprintf(buf, sizeof(buf), "%s", text);
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (strcmp(w, "error=device") == 0)
			f->error = F_DEVICE;
		else if (strcmp(w, "error=session") == 0)
			f->error = F_SESSION;
		else if (strcmp(w, "error=removed") == 0)
			f->error = F_REMOVED;
		else if (strcmp(w, "on=initpin") == 0)
			f->on = ON_INITPIN;
		else if (strcmp(w, "on=setpin") == 0)
			f->on = ON_SETPIN;
		else if (strncmp(w, "absent=", 7) == 0 && f->nabsent < 4)
			f->absent[f->nabsent++] = strtoul(w + 7, NULL, 0);
		else if (strcmp(w, "wrap_pad=pkcs7") == 0)
			f->wrap_pkcs7 = true;
		else if (strncmp(w, "count=", 6) == 0)
			f->count = strtol(w + 6, NULL, 10);
		else if (strncmp(w, "skip=", 5) == 0)
			f->skip = strtol(w + 5, NULL, 10);
		else if (strncmp(w, "sleep_ms=", 9) == 0)
			f->sleep_ms = strtol(w + 9, NULL, 10);
		else if (strcmp(w, "corrupt") == 0)
			f->corrupt = true;
		else if (strcmp(w, "hold") == 0)
			f->hold = true;
		else if (strcmp(w, "close_sessions") == 0)
			f->close_sessions = true;
	}
	if (f->sleep_ms < 0 || f->sleep_ms > SLEEP_MAX_MS)
		f->sleep_ms = f->sleep_ms < 0 ? 0 : SLEEP_MAX_MS;
}

/* Append text to the file P11FAULT_CONTROL<suffix>, in one write. */
static void append(const char *suffix, const char *text)
{
	const char *ctl = getenv("P11FAULT_CONTROL");
	if (!ctl)
		return;
	char path[CONTROL_MAX + 16];
	snprintf(path, sizeof(path), "%s%s", ctl, suffix);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t n = strlen(text);
		if (write(fd, text, n) != (ssize_t)n) {
			/* a lost count only makes a test's check stricter */
		}
		close(fd);
	}
}

/* Whether the control file still says hold and no release file exists. */
static bool still_held(void)
{
	const char *ctl = getenv("P11FAULT_CONTROL");
	char path[CONTROL_MAX + 16];
	snprintf(path, sizeof(path), "%s.release", ctl);
	if (access(path, F_OK) == 0)
		return false;
	char text[CONTROL_MAX] = "";
	int fd = open(ctl, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	fault f;
	parse(text, &f);
	return f.hold;
}

/* Wait until the test releases held calls (bounded: a test that forgot
 * must not hang its daemon for ever). */
static void hold_here(void)
{
	append(".held", "x");
	for (long waited = 0; waited < HOLD_MAX_MS && still_held(); waited += 2) {
		struct timespec ts = {0, 2000000L};
		nanosleep(&ts, NULL);
	}
}

/* The fault in force now. Takes one unit of count when the fault applies
 * (as decided by wants), so "count=1" fails exactly one call. */
static void current(fault *f, bool (*wants)(const fault *))
{
	memset(f, 0, sizeof(*f));
	const char *ctl = getenv("P11FAULT_CONTROL");
	if (!ctl)
		return;
	char text[CONTROL_MAX] = "";
	int fd = open(ctl, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	parse(text, f);
	if (!wants(f)) {
		/* a fault for other calls is none for this one */
		memset(f, 0, sizeof(*f));
		return;
	}
	pthread_mutex_lock(&lock);
	if (strcmp(text, last_text) != 0) {
		snprintf(last_text, sizeof(last_text), "%s", text);
		used = 0;
	}
	long n = used++;
	bool allowed = n >= f->skip && (f->count < 0 || n - f->skip < f->count);
	pthread_mutex_unlock(&lock);
	if (!allowed) {
		memset(f, 0, sizeof(*f));
		return;
	}
	append(".hits", "x");
}

static bool wants_sign(const fault *f)
{
	return (f->on == ON_SIGN && f->error != F_NONE) || f->sleep_ms > 0 || f->corrupt ||
	       f->hold || f->close_sessions;
}

static bool wants_removed(const fault *f)
{
	return f->on == ON_SIGN && f->error == F_REMOVED;
}

static bool wants_absent(const fault *f)
{
	return f->nabsent > 0;
}

static bool wants_wrap(const fault *f)
{
	return f->wrap_pkcs7;
}

static bool wants_initpin(const fault *f)
{
	return f->on == ON_INITPIN && f->error != F_NONE;
}

static bool wants_setpin(const fault *f)
{
	return f->on == ON_SETPIN && f->error != F_NONE;
}

static CK_RV error_rv(fault_error e)
{
	switch (e) {
	case F_DEVICE: return CKR_DEVICE_ERROR;
	case F_SESSION: return CKR_SESSION_HANDLE_INVALID;
	case F_REMOVED: return CKR_DEVICE_REMOVED;
	case F_NONE: break;
	}
	return CKR_OK;
}

/* Every session of every slot this process has sessions on, closed by the
 * real module as a token reset would (they count as closed, not leaked). */
static void close_every_session(void)
{
	pthread_mutex_lock(&lock);
	while (nopen > 0) {
		CK_SLOT_ID slot = open_sessions[0].slot;
		real->C_CloseAllSessions(slot);
		for (size_t i = 0; i < nopen;)
			if (open_sessions[i].slot == slot) {
				open_sessions[i] = open_sessions[--nopen];
				closed++;
			} else {
				i++;
			}
	}
	pthread_mutex_unlock(&lock);
}

static CK_RV w_sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
		    CK_ULONG_PTR siglen)
{
	fault f;
	current(&f, wants_sign);
	if (f.close_sessions)
		close_every_session();
	if (f.hold)
		hold_here();
	if (f.sleep_ms > 0) {
		struct timespec ts = {f.sleep_ms / 1000, (f.sleep_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (f.error != F_NONE && f.on == ON_SIGN) {
		/* The operation ends with the error, as a real token's would. */
		CK_BYTE scratch[1024];
		CK_ULONG n = sizeof(scratch);
		real->C_Sign(h, data, len, scratch, &n);
		return error_rv(f.error);
	}
	CK_RV rv = real->C_Sign(h, data, len, sig, siglen);
	if (rv == CKR_OK && sig && f.corrupt && *siglen > 0)
		sig[*siglen / 2] ^= 0x10;
	return rv;
}

static CK_RV w_sign_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	fault f;
	current(&f, wants_removed);
	if (f.error == F_REMOVED)
		return CKR_DEVICE_REMOVED;
	return real->C_SignInit(h, m, k);
}

static CK_RV w_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	fault f;
	current(&f, wants_removed);
	if (f.error == F_REMOVED)
		return CKR_DEVICE_REMOVED;
	return real->C_GetTokenInfo(slot, info);
}

static CK_RV w_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
			    CK_SESSION_HANDLE_PTR h)
{
	fault f;
	current(&f, wants_removed);
	if (f.error == F_REMOVED)
		return CKR_DEVICE_REMOVED;
	CK_RV rv = real->C_OpenSession(slot, flags, app, notify, h);
	if (rv == CKR_OK && h) {
		pthread_mutex_lock(&lock);
		opened++;
		if (nopen < SESSIONS_MAX) {
			open_sessions[nopen].h = *h;
			open_sessions[nopen].slot = slot;
			nopen++;
		}
		pthread_mutex_unlock(&lock);
	}
	return rv;
}

static CK_RV w_close_session(CK_SESSION_HANDLE h)
{
	CK_RV rv = real->C_CloseSession(h);
	if (rv == CKR_OK) {
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < nopen; i++)
			if (open_sessions[i].h == h) {
				open_sessions[i] = open_sessions[--nopen];
				closed++;
				break;
			}
		pthread_mutex_unlock(&lock);
	}
	return rv;
}

static CK_RV w_close_all_sessions(CK_SLOT_ID slot)
{
	CK_RV rv = real->C_CloseAllSessions(slot);
	if (rv == CKR_OK) {
		pthread_mutex_lock(&lock);
		sweeps++;
		for (size_t i = 0; i < nopen;)
			if (open_sessions[i].slot == slot) {
				open_sessions[i] = open_sessions[--nopen];
				closed++;
				swept++;
			} else {
				i++;
			}
		pthread_mutex_unlock(&lock);
	}
	return rv;
}

/* One line of session counts to P11FAULT_CONTROL.sessions; at a
 * finalize the counts start again (the module may be initialized anew). */
static void report_sessions(const char *at, bool reset)
{
	char comm[64] = "?";
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 1] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(fd);
	}
	char line[256];
	pthread_mutex_lock(&lock);
	snprintf(line, sizeof(line),
		 "pid=%ld comm=%s at=%s opened=%lu closed=%lu open=%zu swept=%lu sweeps=%lu\n",
		 (long)getpid(), comm, at, opened, closed, nopen, swept, sweeps);
	if (reset)
		opened = closed = nopen = swept = sweeps = 0;
	pthread_mutex_unlock(&lock);
	append(".sessions", line);
}

static CK_RV w_finalize(CK_VOID_PTR reserved)
{
	report_sessions("finalize", true);
	return real->C_Finalize(reserved);
}

/* A process that never finalizes still says what it left open. */
__attribute__((destructor)) static void at_exit_report(void)
{
	if (real && (opened || nopen))
		report_sessions("exit", false);
}

static CK_RV w_login(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	fault f;
	current(&f, wants_removed);
	if (f.error == F_REMOVED)
		return CKR_DEVICE_REMOVED;
	return real->C_Login(h, type, pin, len);
}

static CK_RV w_get_attribute_value(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
				    CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	CK_RV rv = real->C_GetAttributeValue(h, o, tmpl, n);
	fault f;
	current(&f, wants_absent);
	for (CK_ULONG i = 0; tmpl && i < n; i++)
		for (size_t k = 0; k < f.nabsent; k++)
			if (tmpl[i].type == f.absent[k]) {
				tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
				if (rv == CKR_OK)
					rv = CKR_ATTRIBUTE_TYPE_INVALID;
			}
	return rv;
}

/* CKM_AES_KEY_WRAP_PAD as RFC 3394 of the PKCS#7-padded value: the value is
 * read, padded, made a session generic secret (public, so an SO session may
 * too) and wrapped with the real CKM_AES_KEY_WRAP. */
static CK_RV w_wrap_key(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE kek,
			CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	fault f;
	if (!m || m->mechanism != CKM_AES_KEY_WRAP_PAD)
		return real->C_WrapKey(h, m, kek, key, out, outlen);
	current(&f, wants_wrap);
	if (!f.wrap_pkcs7)
		return real->C_WrapKey(h, m, kek, key, out, outlen);
	CK_BYTE value[512];
	CK_ATTRIBUTE a = {CKA_VALUE, value, sizeof(value) - 8};
	CK_RV rv = real->C_GetAttributeValue(h, key, &a, 1);
	if (rv != CKR_OK)
		return rv;
	CK_ULONG pad = 8 - a.ulValueLen % 8;
	memset(value + a.ulValueLen, (int)pad, pad);
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},     {CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &no, sizeof(no)},       {CKA_PRIVATE, &no, sizeof(no)},
		{CKA_SENSITIVE, &no, sizeof(no)},   {CKA_EXTRACTABLE, &yes, sizeof(yes)},
		{CKA_VALUE, value, a.ulValueLen + pad},
	};
	CK_OBJECT_HANDLE padded = CK_INVALID_HANDLE;
	rv = real->C_CreateObject(h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &padded);
	if (rv != CKR_OK)
		return rv;
	CK_MECHANISM plain = {CKM_AES_KEY_WRAP, NULL, 0};
	rv = real->C_WrapKey(h, &plain, kek, padded, out, outlen);
	real->C_DestroyObject(h, padded);
	return rv;
}

static CK_RV w_init_pin(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	fault f;
	current(&f, wants_initpin);
	if (f.error != F_NONE)
		return error_rv(f.error);
	return real->C_InitPIN(h, pin, len);
}

static CK_RV w_set_pin(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old, CK_ULONG oldlen,
		       CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	fault f;
	current(&f, wants_setpin);
	if (f.error != F_NONE)
		return error_rv(f.error);
	return real->C_SetPIN(h, old, oldlen, pin, len);
}

/* Load the real module once; its list is copied and our entries put in. */
static CK_RV load_real(void)
{
	pthread_mutex_lock(&lock);
	CK_RV rv = CKR_OK;
	if (!real) {
		const char *path = getenv("P11FAULT_MODULE");
		CK_C_GetFunctionList get = NULL;
		real_dl = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
		if (real_dl)
			*(void **)&get = dlsym(real_dl, "C_GetFunctionList");
		if (!get || get(&real) != CKR_OK || !real) {
			real = NULL;
			rv = CKR_GENERAL_ERROR;
		} else {
			wrapped = *real;
			wrapped.C_Sign = w_sign;
			wrapped.C_SignInit = w_sign_init;
			wrapped.C_GetTokenInfo = w_get_token_info;
			wrapped.C_OpenSession = w_open_session;
			wrapped.C_Login = w_login;
			wrapped.C_CloseSession = w_close_session;
			wrapped.C_CloseAllSessions = w_close_all_sessions;
			wrapped.C_Finalize = w_finalize;
			wrapped.C_InitPIN = w_init_pin;
			wrapped.C_WrapKey = w_wrap_key;
			wrapped.C_GetAttributeValue = w_get_attribute_value;
			wrapped.C_SetPIN = w_set_pin;
		}
	}
	pthread_mutex_unlock(&lock);
	return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (!list)
		return CKR_ARGUMENTS_BAD;
	CK_RV rv = load_real();
	if (rv != CKR_OK)
		return rv;
	*list = &wrapped;
	return CKR_OK;
}
