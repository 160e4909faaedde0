/* bench_rpc.c -- load generator for signetd over mutual TLS: RRSIGs/s by
 * batch size and calls in flight, paced open-loop latency of single-RRset
 * calls, and a long run that watches signetd's RSS.
 *
 * usage: bench_rpc CONFIG ZONE peak SECONDS BATCH,... INFLIGHT,... [PID]
 *        bench_rpc CONFIG ZONE latency SECONDS RATE THREADS
 *        bench_rpc CONFIG ZONE latency-async SECONDS RATE
 *        bench_rpc CONFIG ZONE count RRSETS BATCH INFLIGHT [PID]
 *
 * CONFIG is a client config file (docs/CLIENT.md). Every RRset has an owner
 * no earlier call used (a random 64-bit start, then a counter), so signetd's
 * RRSIG cache never answers: every RRSIG counted is a C_Sign in the token.
 * peak prints one markdown row per (batch, inflight) cell, and given
 * signetd's PID a last column with signetd's CPU microseconds per RRSIG
 * (user + system over the counted phase), which other load on the machine
 * moves far less than the rate; latency paces
 * calls at RATE per second over THREADS threads (each a blocking unary call,
 * as a nameserver signing at query time would make) and measures from the
 * time a call was due, so a late start counts against the service;
 * latency-async paces the same calls from one thread that starts each when
 * it is due (up to 48 in flight) and collects the answers in between, so
 * no client threads wait to be woken on 2 cores; it measures from the same
 * due time; count signs RRSETS RRsets and,
 * given signetd's PID, prints its RSS every tenth.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

#include "client/client.h"
#include "common/common.h"
#include "dnssec/dnssec.h"

#define BATCH_MAX 100000
#define INFLIGHT_MAX 256
#define LIST_MAX 16
#define ASYNC_INFLIGHT_MAX 48 /* signetd admits 64 calls in flight per client */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- requests ------------------------------------------------------------ */

struct gen {
	dns_name zone;
	pthread_mutex_t lock; /* the counter, when threads share it */
	uint64_t next;        /* owner number of the next RRset */
};

static uint64_t gen_take(struct gen *g, size_t n)
{
	pthread_mutex_lock(&g->lock);
	uint64_t first = g->next;
	g->next += n;
	pthread_mutex_unlock(&g->lock);
	return first;
}

/* A packed SignRequest of n fresh A RRsets (owner x<16 hex>.ZONE, one RR
 * each, TTL 300): malloc'ed into *out, length in *len. The sets are views
 * on local arrays (nothing of theirs is freed), so building a request costs
 * what packing costs. */
static signet_err build_request(struct gen *g, size_t n, uint8_t **out, size_t *len)
{
	signet_err ret = SIGNET_ENOMEM;
	dns_rrset *sets = calloc(n, sizeof(*sets));
	const dns_rrset **ptr = calloc(n, sizeof(*ptr));
	dns_rdata *rd = calloc(n, sizeof(*rd));
	uint8_t *addrs = malloc(n * 4);
	*out = NULL;
	if (g->zone.len > DNS_NAME_MAX - 18) {
		ret = SIGNET_ERANGE;
		goto done;
	}
	if (!sets || !ptr || !rd || !addrs)
		goto done;
	uint64_t first = gen_take(g, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t id = first + i;
		dns_rrset *s = &sets[i];
		char label[18];
		snprintf(label, sizeof(label), "x%016" PRIx64, id);
		s->owner.wire[0] = 17;
		memcpy(s->owner.wire + 1, label, 17);
		memcpy(s->owner.wire + 18, g->zone.wire, g->zone.len);
		s->owner.len = (uint8_t)(18 + g->zone.len);
		uint8_t *a = addrs + i * 4;
		a[0] = 192;
		a[1] = 0;
		a[2] = (uint8_t)(id >> 8);
		a[3] = (uint8_t)id;
		rd[i].data = a;
		rd[i].len = 4;
		s->type = DNS_T_A;
		s->rclass = DNS_CLASS_IN;
		s->ttl = 300;
		s->count = 1;
		s->rr = &rd[i];
		ptr[i] = s;
	}
	ret = client_sign_request_pack(&g->zone, ptr, n, out, len);
done:
	free(sets);
	free(ptr);
	free(rd);
	free(addrs);
	return ret;
}

/* RRSIGs in a SignResponse answering n RRsets; -1 (with a message) if the
 * answer does not parse or any RRset was not signed. */
static long count_rrsigs(const sg_buf *ans, size_t n)
{
	client_sign_answer r;
	if (client_sign_answer_unpack(ans->data, ans->len, &r) != SIGNET_OK) {
		fprintf(stderr, "bench_rpc: answer does not parse\n");
		client_sign_answer_free(&r);
		return -1;
	}
	long sigs = 0;
	if (r.count != n) {
		fprintf(stderr, "bench_rpc: %zu results for %zu RRsets\n", r.count, n);
		sigs = -1;
	}
	for (size_t i = 0; sigs >= 0 && i < r.count; i++) {
		const client_sign_item *it = &r.items[i];
		if (it->status != CLIENT_ITEM_SIGNED || it->nrrsig == 0) {
			fprintf(stderr, "bench_rpc: RRset %u not signed: %s\n", it->index,
				it->message);
			sigs = -1;
			break;
		}
		sigs += (long)it->nrrsig;
	}
	client_sign_answer_free(&r);
	return sigs;
}

/* ---- pipelined load -------------------------------------------------------- */

struct pipe_result {
	double seconds; /* timed phase */
	uint64_t calls; /* completed in the timed phase */
	uint64_t rrsigs;
	double cpu;        /* this process's user+system seconds in it */
	double server_cpu; /* signetd's, when its PID was given (timed runs) */
};

/* User plus system CPU seconds of process pid (from /proc/PID/stat); -1
 * when it cannot be read. */
static double proc_cpu_s(long pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* The command name may hold spaces: the fields start after its ')'. */
	char *p = strrchr(line, ')');
	unsigned long long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	long tck = sysconf(_SC_CLK_TCK);
	return tck > 0 ? (double)(ut + st) / (double)tck : -1;
}

/* User plus system CPU seconds of this process so far: the client shares
 * the machine with signetd, and what it uses is not left for signing. */
static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Keep inflight calls of batch RRsets going on c until seconds have passed
 * (seconds > 0) or rrsets RRsets were signed (rrsets > 0). The first tenth
 * of a timed run warms up and is not counted; the rate is that of the calls
 * completed from then on, over the time they took. pid > 0: print signetd's RSS
 * after every tenth of rrsets. */
static int pipe_run(client_conn *c, struct gen *g, size_t batch, unsigned inflight, double seconds,
		    uint64_t rrsets, long pid, struct pipe_result *res)
{
	memset(res, 0, sizeof(*res));
	double start = now_s(), warm = start + (seconds > 0 ? seconds / 10 : 0);
	double stop = start + seconds;
	uint64_t sent = 0, done = 0, next_report = rrsets / 10;
	bool counting = seconds <= 0;
	double t0 = counting ? start : 0, cpu0 = counting ? cpu_s() : 0;
	bool timed_server = seconds > 0 && pid > 0;
	double scpu0 = 0;
	sg_buf ans = SG_BUF_INIT;
	int rc = 0;
	for (;;) {
		/* A timed run also lasts until 2 x inflight calls were counted,
		 * so that big batches get a rate from more than one round. */
		bool more = seconds > 0 ? now_s() < stop || res->calls < 2 * (uint64_t)inflight
					: sent < rrsets;
		while (more && client_inflight(c) < inflight) {
			size_t n = batch;
			if (rrsets > 0 && seconds <= 0 && rrsets - sent < n)
				n = (size_t)(rrsets - sent);
			uint8_t *req;
			size_t len;
			if (build_request(g, n, &req, &len) != SIGNET_OK ||
			    client_start(c, CLIENT_SVC "SignRRsets", req, len,
					 (void *)(uintptr_t)n) != SIGNET_OK) {
				fprintf(stderr, "bench_rpc: cannot start a call\n");
				rc = 1;
				goto out;
			}
			sent += n;
			more = seconds > 0 || sent < rrsets;
		}
		if (client_inflight(c) == 0)
			break;
		/* Calls finishing after the last was sent run with fewer in
		 * flight: they are not the cell's rate. */
		bool draining = seconds > 0 && !more;
		void *tag;
		client_status st;
		sg_buf_reset(&ans);
		if (client_next(c, &tag, &st, &ans) != SIGNET_OK) {
			fprintf(stderr, "bench_rpc: completion queue failed\n");
			rc = 1;
			goto out;
		}
		if (st.code != 0) {
			fprintf(stderr, "bench_rpc: SignRRsets: %s: %s\n",
				client_status_name(st.code), st.details);
			rc = 1;
			goto out;
		}
		size_t n = (size_t)(uintptr_t)tag;
		long sigs = count_rrsigs(&ans, n);
		if (sigs < 0) {
			rc = 1;
			goto out;
		}
		done += n;
		double t = now_s();
		if (!counting && t >= warm) {
			counting = true;
			t0 = t;
			cpu0 = cpu_s();
			if (timed_server)
				scpu0 = proc_cpu_s(pid);
			continue; /* this one finished in the warm-up */
		}
		if (counting && !draining) {
			res->calls++;
			res->rrsigs += (uint64_t)sigs;
			res->seconds = t - t0;
			res->cpu = cpu_s() - cpu0;
			if (timed_server)
				res->server_cpu = proc_cpu_s(pid) - scpu0;
		}
		if (pid > 0 && rrsets > 0 && done >= next_report) {
			char path[64], line[256];
			snprintf(path, sizeof(path), "/proc/%ld/status", pid);
			FILE *f = fopen(path, "r");
			long rss = -1, hwm = -1;
			while (f && fgets(line, sizeof(line), f)) {
				sscanf(line, "VmRSS: %ld", &rss);
				sscanf(line, "VmHWM: %ld", &hwm);
			}
			if (f)
				fclose(f);
			printf("| %" PRIu64 " | %.1f | %.1f | %.1f |\n", done, t - start,
			       rss / 1024.0, hwm / 1024.0);
			fflush(stdout);
			next_report += rrsets / 10;
		}
	}
out:
	/* Drain what is still in flight so the connection closes clean. */
	while (client_inflight(c) > 0) {
		void *tag;
		client_status st;
		if (client_next(c, &tag, &st, NULL) != SIGNET_OK)
			break;
	}
	sg_buf_free(&ans);
	return rc;
}

/* ---- paced latency -------------------------------------------------------- */

struct lat_shared {
	client_conn *c;
	struct gen *g;
	double t0;   /* when slot 0 is due */
	double rate; /* calls per second over all threads */
	unsigned threads;
	uint64_t slots;    /* calls in the run */
	atomic_int failed; /* set by the first thread whose call fails */
};

struct lat_thread {
	struct lat_shared *s;
	unsigned index;
	double *lat; /* seconds, one per call this thread made */
	size_t n;
};

static void *lat_main(void *arg)
{
	struct lat_thread *t = arg;
	struct lat_shared *s = t->s;
	sg_buf ans = SG_BUF_INIT;
	for (uint64_t k = t->index; k < s->slots && !s->failed; k += s->threads) {
		double due = s->t0 + (double)k / s->rate;
		double wait = due - now_s();
		if (wait > 0) {
			struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
			nanosleep(&ts, NULL);
		}
		uint8_t *req;
		size_t len;
		client_status st;
		sg_buf_reset(&ans);
		if (build_request(s->g, 1, &req, &len) != SIGNET_OK) {
			s->failed = 1;
			break;
		}
		signet_err ret = client_call(s->c, CLIENT_SVC "SignRRsets", req, len, &st, &ans);
		free(req);
		double end = now_s();
		if (ret != SIGNET_OK || st.code != 0 || count_rrsigs(&ans, 1) < 1) {
			fprintf(stderr, "bench_rpc: call failed: %s %s\n",
				client_status_name(st.code), st.details);
			s->failed = 1;
			break;
		}
		t->lat[t->n++] = end - due;
	}
	sg_buf_free(&ans);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int latency_run(client_conn *c, struct gen *g, double seconds, double rate, unsigned threads)
{
	struct lat_shared s;
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.g = g;
	s.rate = rate;
	s.threads = threads;
	s.slots = (uint64_t)(seconds * rate);
	atomic_init(&s.failed, 0);
	struct lat_thread *t = calloc(threads, sizeof(*t));
	pthread_t *tid = calloc(threads, sizeof(*tid));
	double *all = calloc(s.slots + 1, sizeof(double));
	int rc = 1;
	if (!t || !tid || !all)
		goto out;
	s.t0 = now_s() + 0.05;
	unsigned started = 0;
	for (unsigned i = 0; i < threads; i++) {
		t[i].s = &s;
		t[i].index = i;
		t[i].lat = calloc(s.slots / threads + 2, sizeof(double));
		if (!t[i].lat || pthread_create(&tid[i], NULL, lat_main, &t[i]) != 0) {
			s.failed = 1;
			break;
		}
		started++;
	}
	size_t n = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		memcpy(all + n, t[i].lat, t[i].n * sizeof(double));
		n += t[i].n;
	}
	double span = now_s() - s.t0;
	if (s.failed || n == 0)
		goto out;
	qsort(all, n, sizeof(double), cmp_double);
	/* Open loop: the achieved rate falls short of the asked one only when
	 * calls queue up, which the percentiles then show. */
	printf("| %.0f | %.0f | %zu | %.2f | %.2f | %.2f | %.2f |\n", rate, (double)n / span, n,
	       all[n / 2] * 1e3, all[(size_t)((double)n * 0.99)] * 1e3,
	       all[(size_t)((double)n * 0.999)] * 1e3, all[n - 1] * 1e3);
	rc = 0;
out:
	for (unsigned i = 0; t && i < threads; i++)
		free(t[i].lat);
	free(t);
	free(tid);
	free(all);
	return rc;
}

/* ---- paced latency, asynchronous -------------------------------------------- */

/* One thread on the client library's pipeline: each call starts when it is
 * due (its tag is its slot number, so its due time is known when it comes
 * back), and answers are collected while waiting for the next due time. */
static int latency_async(client_conn *c, struct gen *g, double seconds, double rate)
{
	uint64_t slots = (uint64_t)(seconds * rate);
	double *lat = calloc(slots + 1, sizeof(double));
	if (!lat)
		return 1;
	sg_buf ans = SG_BUF_INIT;
	size_t n = 0;
	double t0 = now_s() + 0.05;
	uint64_t k = 0;
	int rc = 0;
	while (!rc && (k < slots || client_inflight(c) > 0)) {
		/* Every call that is due starts now, late ones included: their
		 * lateness is counted from their due time. Past the cap (under
		 * signetd's calls-in-flight limit per client) a due call waits
		 * for an answer, and that wait is counted too. */
		while (k < slots && client_inflight(c) < ASYNC_INFLIGHT_MAX &&
		       t0 + (double)k / rate <= now_s()) {
			uint8_t *req;
			size_t len;
			if (build_request(g, 1, &req, &len) != SIGNET_OK ||
			    client_start(c, CLIENT_SVC "SignRRsets", req, len,
					 (void *)(uintptr_t)k) != SIGNET_OK) {
				fprintf(stderr, "bench_rpc: cannot start a call\n");
				rc = 1;
				break;
			}
			k++;
		}
		if (rc)
			break;
		double wait = k < slots ? t0 + (double)k / rate - now_s() : 0;
		if (client_inflight(c) == 0) {
			if (wait > 0) {
				struct timespec ts = {(time_t)wait,
						      (long)((wait - (time_t)wait) * 1e9)};
				nanosleep(&ts, NULL);
			}
			continue;
		}
		/* Wait for an answer until the next call is due, or for as long
		 * as it takes when none is (all sent, or the cap reached). The
		 * wait is whole milliseconds, as gRPC's poller sleeps: rounded
		 * up, so that a wait under a millisecond sleeps (an answer ends
		 * it early, and at high rates answers come more often than
		 * calls fall due) rather than spinning a core that signetd
		 * shares. */
		long wait_ms = k < slots && client_inflight(c) < ASYNC_INFLIGHT_MAX
				       ? (wait > 0 ? (long)ceil(wait * 1e3) : 0)
				       : 60000;
		void *tag;
		client_status st;
		sg_buf_reset(&ans);
		signet_err err = client_next_wait(c, wait_ms, &tag, &st, &ans);
		if (err == SIGNET_ETIME)
			continue;
		double end = now_s();
		if (err != SIGNET_OK || st.code != 0 || count_rrsigs(&ans, 1) < 1) {
			fprintf(stderr, "bench_rpc: call failed: %s %s\n",
				err != SIGNET_OK ? signet_errname(err)
						 : client_status_name(st.code),
				st.details);
			rc = 1;
			break;
		}
		lat[n++] = end - (t0 + (double)(uintptr_t)tag / rate);
	}
	double span = now_s() - t0;
	sg_buf_free(&ans);
	if (!rc && n > 0) {
		qsort(lat, n, sizeof(double), cmp_double);
		printf("| %.0f | %.0f | %zu | %.2f | %.2f | %.2f | %.2f |\n", rate,
		       (double)n / span, n, lat[n / 2] * 1e3, lat[(size_t)((double)n * 0.99)] * 1e3,
		       lat[(size_t)((double)n * 0.999)] * 1e3, lat[n - 1] * 1e3);
	} else if (!rc) {
		rc = 1;
	}
	free(lat);
	return rc;
}

/* ---- main ------------------------------------------------------------------ */

static size_t parse_list(const char *s, unsigned long max, unsigned long out[LIST_MAX])
{
	size_t n = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	char *save = NULL;
	for (char *p = strtok_r(buf, ",", &save); p && n < LIST_MAX;
	     p = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (*end != '\0' || v < 1 || v > max)
			return 0;
		out[n++] = v;
	}
	return n;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: bench_rpc CONFIG ZONE peak SECONDS BATCH,... INFLIGHT,... [PID]\n"
		"       bench_rpc CONFIG ZONE latency SECONDS RATE THREADS\n"
		"       bench_rpc CONFIG ZONE latency-async SECONDS RATE\n"
		"       bench_rpc CONFIG ZONE count RRSETS BATCH INFLIGHT [PID]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 6)
		return usage();
	const char *mode = argv[3];
	client_config cfg;
	char err[512];
	client_config_init(&cfg);
	if (client_config_load(argv[1], &cfg, err, sizeof(err)) != SIGNET_OK) {
		fprintf(stderr, "bench_rpc: %s\n", err);
		return 2;
	}
	struct gen g;
	if (dns_name_from_str(&g.zone, argv[2]) != SIGNET_OK) {
		fprintf(stderr, "bench_rpc: bad zone name\n");
		return 2;
	}
	pthread_mutex_init(&g.lock, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Fresh owners on every run, so no run meets a cached RRSIG. */
	g.next = ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)ts.tv_nsec << 8) ^ (uint64_t)getpid();

	client_conn *c = NULL;
	if (client_open(&cfg, &c, err, sizeof(err)) != SIGNET_OK) {
		fprintf(stderr, "bench_rpc: %s\n", err);
		return 4;
	}
	int rc = 2;
	if (strcmp(mode, "peak") == 0 && (argc == 7 || argc == 8)) {
		double seconds = strtod(argv[4], NULL);
		unsigned long batches[LIST_MAX], inflights[LIST_MAX];
		size_t nb = parse_list(argv[5], BATCH_MAX, batches);
		size_t ni = parse_list(argv[6], INFLIGHT_MAX, inflights);
		long pid = argc == 8 ? strtol(argv[7], NULL, 10) : 0;
		if (!(seconds >= 0.1 && seconds <= 600) || !nb || !ni ||
		    (argc == 8 && (pid <= 0 || proc_cpu_s(pid) < 0))) {
			client_close(c);
			return usage();
		}
		rc = 0;
		for (size_t b = 0; b < nb && !rc; b++)
			for (size_t i = 0; i < ni && !rc; i++) {
				struct pipe_result r;
				rc = pipe_run(c, &g, batches[b], (unsigned)inflights[i], seconds, 0,
					      pid, &r);
				if (!rc)
					printf("| %lu | %lu | %.0f | %.0f | %.2f |", batches[b],
					       inflights[i],
					       r.seconds > 0 ? (double)r.rrsigs / r.seconds : 0,
					       r.seconds > 0 ? (double)r.calls / r.seconds : 0,
					       r.seconds > 0 ? r.cpu / r.seconds : 0);
				if (!rc && pid > 0)
					printf(" %.1f |",
					       r.rrsigs ? r.server_cpu * 1e6 / (double)r.rrsigs
							: 0);
				if (!rc)
					printf("\n");
				fflush(stdout);
			}
	} else if (strcmp(mode, "latency") == 0 && argc == 7) {
		double seconds = strtod(argv[4], NULL), rate = strtod(argv[5], NULL);
		long threads = strtol(argv[6], NULL, 10);
		if (!(seconds >= 0.1 && seconds <= 600) || !(rate >= 1 && rate <= 1e6) ||
		    threads < 1 || threads > 256) {
			client_close(c);
			return usage();
		}
		rc = latency_run(c, &g, seconds, rate, (unsigned)threads);
	} else if (strcmp(mode, "latency-async") == 0 && argc == 6) {
		double seconds = strtod(argv[4], NULL), rate = strtod(argv[5], NULL);
		if (!(seconds >= 0.1 && seconds <= 600) || !(rate >= 1 && rate <= 1e6)) {
			client_close(c);
			return usage();
		}
		rc = latency_async(c, &g, seconds, rate);
	} else if (strcmp(mode, "count") == 0 && (argc == 7 || argc == 8)) {
		unsigned long long rrsets = strtoull(argv[4], NULL, 10);
		unsigned long batch = strtoul(argv[5], NULL, 10);
		unsigned long inflight = strtoul(argv[6], NULL, 10);
		long pid = argc == 8 ? strtol(argv[7], NULL, 10) : 0;
		if (rrsets < 1 || rrsets > 1000000000ULL || batch < 1 || batch > BATCH_MAX ||
		    inflight < 1 || inflight > INFLIGHT_MAX) {
			client_close(c);
			return usage();
		}
		struct pipe_result r;
		rc = pipe_run(c, &g, batch, (unsigned)inflight, 0, rrsets, pid, &r);
		if (!rc)
			printf("count: %" PRIu64 " RRSIGs in %.1f s, %.0f/s\n", r.rrsigs, r.seconds,
			       r.seconds > 0 ? (double)r.rrsigs / r.seconds : 0);
	} else {
		client_close(c);
		return usage();
	}
	client_close(c);
	return rc;
}
