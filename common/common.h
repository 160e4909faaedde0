/* common.h -- what every signet layer shares: the error enum, byte buffers,
 * secret memory, bounded and atomic file access, process hardening, logging.
 *
 * This is the lowest layer: it uses libc and OpenSSL only, and knows nothing of
 * DNS, PKCS#11 or gRPC (but the names of gRPC's status codes, which the
 * client and signetd both print).
 */
#ifndef SIGNET_COMMON_H
#define SIGNET_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One error space for the whole project. SIGNET_OK is 0; every function that
 * can fail returns one of these and reports results through out-parameters.
 * Lower layers map foreign codes (CK_RV, OpenSSL, errno) into this enum at
 * their boundary; the detail goes into the message the caller may log. */
typedef enum signet_err {
	SIGNET_OK = 0,
	SIGNET_EINVAL,       /* an argument is out of its contract */
	SIGNET_ENOMEM,       /* allocation failed */
	SIGNET_ERANGE,       /* a size, count or value exceeds its bound */
	SIGNET_EPARSE,       /* malformed input (wire form, text, file) */
	SIGNET_ENOTFOUND,    /* the named thing does not exist */
	SIGNET_EEXIST,       /* the thing to create exists already */
	SIGNET_EIO,          /* a file or socket operation failed */
	SIGNET_EPERM,        /* refused by a permission check (file mode, ACL) */
	SIGNET_EUNSUPPORTED, /* algorithm, type or feature not supported */
	SIGNET_ECRYPTO,      /* a cryptographic library call failed */
	SIGNET_EVERIFY,      /* a signature, digest or MAC does not verify */
	SIGNET_ETIME,        /* outside a validity window, or clock trouble */
	SIGNET_EHSM,         /* the HSM failed in a way not listed below */
	SIGNET_EHSM_PIN,     /* wrong PIN */
	SIGNET_EHSM_LOCKED,  /* PIN locked or login refused for good */
	SIGNET_EHSM_DOWN,    /* token absent, device removed or session lost:
	                       * retrying later may succeed */
	SIGNET_EHSM_KEY,     /* key unusable: extractable, not sensitive, wrong
	                       * type or missing attribute */
	SIGNET_EDENIED,      /* authenticated but not authorised */
	SIGNET_EQUORUM,      /* fewer valid approvals or shares than required */
	SIGNET_ELIMIT,       /* a rate, connection or resource limit was hit */
	SIGNET_ESTATE,       /* the operation does not fit the current state */
	SIGNET_ERR_COUNT     /* number of codes; not an error */
} signet_err;

/* A static, human-readable description of err; never NULL. */
const char *signet_strerror(signet_err err);

/* The stable short name of err ("SIGNET_EPARSE"), for logs and tests; never NULL. */
const char *signet_errname(signet_err err);

/* Map an errno value to the closest signet_err. */
signet_err signet_err_from_errno(int e);

/* ---- growable byte buffer --------------------------------------------- */

/* A byte buffer that owns its storage. Zero-initialise it (SG_BUF_INIT) and
 * free it with sg_buf_free(); a buffer with limit != 0 refuses to grow past
 * limit bytes (SIGNET_ERANGE), which bounds what hostile input can allocate. */
typedef struct sg_buf {
	uint8_t *data; /* storage, owned; NULL until the first append */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
	size_t limit;  /* maximum len, 0 for none */
} sg_buf;

#define SG_BUF_INIT           \
	{                     \
		NULL, 0, 0, 0 \
	}

/* Ensure room for extra more bytes. */
signet_err sg_buf_reserve(sg_buf *b, size_t extra);

/* Room for element n in the array *arrp (a pointer to the array's pointer)
 * of *cap elements of size octets: when n >= *cap the array is grown by
 * doubling (from first when empty) with realloc, *arrp and *cap updated.
 * SIGNET_ERANGE when the size would overflow, SIGNET_ENOMEM (the array as
 * it was). */
signet_err sg_array_room(void *arrp, size_t *cap, size_t n, size_t size, size_t first);
/* Append n bytes from p. */
signet_err sg_buf_append(sg_buf *b, const void *p, size_t n);
signet_err sg_buf_put_u8(sg_buf *b, uint8_t v);
signet_err sg_buf_put_u16(sg_buf *b, uint16_t v); /* network order */
signet_err sg_buf_put_u32(sg_buf *b, uint32_t v); /* network order */
/* Append formatted text (no terminating NUL counted in len, but one is kept
 * after the data so b->data may be used as a C string). */
signet_err sg_buf_printf(sg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forget the contents, keep the storage. */
void sg_buf_reset(sg_buf *b);
/* Free the storage and zero the struct. */
void sg_buf_free(sg_buf *b);
/* Wipe the contents, then free: for buffers that held secrets. */
void sg_buf_free_secure(sg_buf *b);

/* Read a big-endian integer from p (no bounds: the caller checked). */
static inline uint16_t sg_get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t sg_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

/* Hex and base64 helpers used by tests, config and presentation output. */
signet_err sg_hex_encode(const uint8_t *p, size_t n, sg_buf *out); /* lower case */
signet_err sg_hex_decode(const char *s, size_t slen, sg_buf *out); /* whitespace ignored */
signet_err sg_base64_encode(const uint8_t *p, size_t n, sg_buf *out);
signet_err sg_base64_decode(const char *s, size_t slen, sg_buf *out); /* whitespace ignored */

/* ---- secrets ------------------------------------------------------------ */

/* Overwrite n bytes at p with zeros in a way the compiler cannot drop. */
void sg_wipe(void *p, size_t n);

/* A secret (PIN, passphrase, share) in memory that is locked against swap
 * (mlock, best effort where RLIMIT_MEMLOCK refuses), excluded from core dumps
 * (MADV_DONTDUMP) and wiped on free. len bytes are valid; data is always
 * NUL-terminated after len so it may be passed as a C string. */
typedef struct sg_secret {
	uint8_t *data; /* page-aligned storage, owned */
	size_t len;    /* bytes of secret */
	size_t cap;    /* bytes allocated (a multiple of the page size) */
} sg_secret;

#define SG_SECRET_MAX 4096

/* Allocate a secret able to hold cap bytes (<= SG_SECRET_MAX). */
signet_err sg_secret_new(size_t cap, sg_secret **out);
/* Wipe, unlock and free; NULL is fine. */
void sg_secret_free(sg_secret *s);

/* ---- files -------------------------------------------------------------- */

/* Read the whole of path into out, refusing files larger than max bytes
 * (SIGNET_ERANGE) and anything that is not a regular file (SIGNET_EINVAL);
 * the open never blocks (a FIFO is refused at once). */
signet_err sg_file_read(const char *path, size_t max, sg_buf *out);

/* Write data to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. On any failure path is
 * unchanged and the temporary file is removed. mode is the new file's mode. */
signet_err sg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The steps of sg_file_write_atomic for a writer that streams its own
 * content. sg_file_tmp_open makes a temporary file next to path (its name
 * into tmp, at least strlen(path) + 10 octets; PATH_MAX fits any) with
 * mode, open for writing in *fd. The writer then either gives it to
 * sg_file_commit, which fsyncs and closes fd and renames tmp over path,
 * then fsyncs the directory; or, after a failure of its own, to
 * sg_file_tmp_discard, which closes fd and removes tmp. sg_file_commit
 * always takes fd: on failure tmp is removed and path is unchanged (but
 * for a failed fsync of the directory after the rename, which is
 * reported: the new content is in place, its entry may not be durable). */
signet_err sg_file_tmp_open(const char *path, mode_t mode, char *tmp, size_t tmplen, int *fd);
signet_err sg_file_commit(int fd, const char *tmp, const char *path);
void sg_file_tmp_discard(int fd, const char *tmp);

/* fsync the directory holding path (a rename or a new file in it is
 * durable once this returns). */
signet_err sg_file_dir_sync(const char *path);

/* Read a secret from a file that only its owner may read or write: refused with
 * SIGNET_EPERM if group or others have any permission, or the owner is neither
 * the caller's uid nor root. One trailing newline is stripped. */
signet_err sg_secret_from_file(const char *path, sg_secret **out);
/* Read a secret from an inherited descriptor up to EOF (or the first newline)
 * and close it. */
signet_err sg_secret_from_fd(int fd, sg_secret **out);
/* Take a secret from environment variable name and remove it from the
 * environment so children and /proc/PID/environ of later execs do not see it. */
signet_err sg_secret_from_env(const char *name, sg_secret **out);
/* Parse a secret source spec: "file:PATH", "fd:N" or "env:NAME". */
signet_err sg_secret_from_spec(const char *spec, sg_secret **out);

/* ---- process ------------------------------------------------------------ */

/* Make the process non-dumpable and disable core files, so secrets held in
 * memory cannot reach a core dump or be read through ptrace by the same uid. */
signet_err sg_harden_process(void);

/* ---- measuring ---------------------------------------------------------- */

/* Nanoseconds of CLOCK_MONOTONIC: for latencies, deadlines and rates, never
 * for what a person reads as a date. */
uint64_t sg_mono_ns(void);

/* One thread of a throughput measurement: init makes the thread's state
 * from (index, arg), op performs one operation on it, fini frees it. */
typedef struct sg_bench_ops {
	signet_err (*init)(unsigned index, void *arg, void **state);
	signet_err (*op)(void *state);
	void (*fini)(void *state);
} sg_bench_ops;

/* What a measurement saw. */
typedef struct sg_bench_result {
	uint64_t ops;      /* operations completed by all threads */
	double seconds;    /* wall time of the timed phase */
	double per_second; /* ops / seconds */
} sg_bench_result;

/* Run threads threads (1..256), each calling ops->op in a loop for about
 * seconds of wall time after a short warm-up, and report the total rate. The
 * first failing op stops the run and its error is returned. */
signet_err sg_bench_run(const sg_bench_ops *ops, void *arg, unsigned threads, double seconds,
			sg_bench_result *out);

/* ---- gRPC status names -------------------------------------------------- */

/* Status codes 0 (OK) to 16 (UNAUTHENTICATED), as gRPC numbers them. */
#define SG_GRPC_STATUS_COUNT 17

/* The name of gRPC status code ("UNAVAILABLE" for 14), for messages and
 * metrics labels; "UNKNOWN_STATUS" for a number outside 0..16. Static,
 * never NULL. */
const char *sg_grpc_status_name(int code);

/* ---- logging ------------------------------------------------------------ */

typedef enum sg_log_level {
	SG_LOG_ERROR = 0,
	SG_LOG_WARNING,
	SG_LOG_NOTICE,
	SG_LOG_INFO,
	SG_LOG_DEBUG
} sg_log_level;

/* Messages above level are dropped. Default SG_LOG_NOTICE. */
void sg_log_set_level(sg_log_level level);
/* Log one line to stderr with an ISO 8601 UTC timestamp and the level.
 * Thread safe. Never pass a secret. */
void sg_log(sg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- ThreadSanitizer hand-offs ------------------------------------------ */

/* TSan cannot see synchronisation inside uninstrumented libraries, such as a
 * tag going through gRPC's completion queue from the thread that started an
 * operation to the one that collects it. SG_TSAN_RELEASE(tag) just before a
 * call hands tag to such a library, SG_TSAN_ACQUIRE(tag) right after the
 * tag comes back, tell it about that edge: writes before the release are
 * seen by the thread that acquires, so read what the call needs from the
 * tagged object before the release. Nothing unless SIGNET_TSAN. */
#ifdef SIGNET_TSAN
#include <sanitizer/tsan_interface.h>
#define SG_TSAN_RELEASE(tag) __tsan_release((void *)(tag))
#define SG_TSAN_ACQUIRE(tag) __tsan_acquire((void *)(tag))
#else
#define SG_TSAN_RELEASE(tag) ((void)(tag))
#define SG_TSAN_ACQUIRE(tag) ((void)(tag))
#endif

#endif /* SIGNET_COMMON_H */
