/* daemon.c -- a real signetd for operational tests: PKI, config, process,
 * zone set-up through the admin API, and a raw HTTP client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"

#define SVC "/signet.v1.Signet/"

void daemon_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A CA, and server and client certificates from it, all P-256. */
static int make_pki(const char *d)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
		 " -keyout ca.key -out ca.pem -days 2 -subj /CN=signet-ops-ca"
		 " -addext basicConstraints=critical,CA:TRUE"
		 " -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null", d);
	if (system(cmd) != 0)
		return -1;
	static const struct {
		const char *name, *san, *eku;
	} certs[] = {
		{"server", "DNS:localhost,IP:127.0.0.1", "serverAuth"},
		{"admin", "DNS:admin.test", "clientAuth"},
		{"ns1", "DNS:ns1.test", "clientAuth"},
	};
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		const char *n = certs[i].name;
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && printf 'extendedKeyUsage=%s\\nsubjectAltName=%s\\n' > %s.ext &&"
			 " openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
			 " -keyout %s.key -out %s.csr -subj /CN=%s 2>/dev/null &&"
			 " openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
			 " -days 2 -extfile %s.ext -out %s.pem 2>/dev/null",
			 d, certs[i].eku, certs[i].san, n, n, n, n, n, n, n);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int port = -1;
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static bool port_open(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool up = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return up;
}

void daemon_write_config(const daemon_env *d, const char *path, int port, int metrics_port,
			 const char *extra)
{
	FILE *c = fopen(path, "w");
	assert_non_null(c);
	fprintf(c, "# written by tests/signer/daemon.c\n"
		   "listen = \"127.0.0.1:%d\";\n"
		   "tls-cert = \"%s/server.pem\";\ntls-key = \"%s/server.key\";\n"
		   "tls-ca = \"%s/ca.pem\";\n"
		   "pkcs11-module = \"%s\";\ntoken-label = \"%s\";\npin = \"file:%s\";\n"
		   "state-dir = \"%s/state\";\nworkers = 2;\nmax-rrsets = 100;\n"
		   "clients = (\n"
		   "  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; },\n"
		   "  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"*\" ]; }\n"
		   ");\n",
		port, d->dir, d->dir, d->dir, d->f->module, d->f->label, d->pin_path, d->dir);
	if (metrics_port)
		fprintf(c, "metrics = \"127.0.0.1:%d\";\n", metrics_port);
	if (extra)
		fputs(extra, c);
	fclose(c);
}

static rpc_conn *conn(daemon_env *d, const char *who)
{
	char cert[256], key[256], ca[256];
	snprintf(ca, sizeof(ca), "%s/ca.pem", d->dir);
	snprintf(cert, sizeof(cert), "%s/%s.pem", d->dir, who);
	snprintf(key, sizeof(key), "%s/%s.key", d->dir, who);
	rpc_conn *c = NULL;
	return rpc_open(d->target, ca, cert, key, &c) == SIGNET_OK ? c : NULL;
}

grpc_status_code daemon_call(rpc_conn *c, const char *method, const ProtobufCMessage *m,
			     char *details, size_t dlen, sg_buf *resp)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	protobuf_c_message_pack(m, buf);
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	char path[128];
	snprintf(path, sizeof(path), SVC "%s", method);
	assert_int_equal(rpc_call(c, path, buf, n, &st, details, dlen, resp), SIGNET_OK);
	free(buf);
	return st;
}

int daemon_start(daemon_env *d, const char *extra, bool metrics, const char *for_user)
{
	memset(d, 0, sizeof(*d));
	const char *build = getenv("SIGNET_BUILD_DIR");
	if (!build)
		return -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/signet-ops-XXXXXX");
	if (!mkdtemp(d->dir) || make_pki(d->dir) != 0)
		return -1;
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "mkdir -m 700 '%s/state'", d->dir);
	if (system(cmd) != 0 || softhsm_fixture_create(false, &d->f) != SIGNET_OK)
		return -1;
	if (softhsm_fixture_pin_file(d->f, "pin", d->pin_path, sizeof(d->pin_path)) != SIGNET_OK)
		return -1;
	d->port = free_port();
	d->metrics_port = metrics ? free_port() : 0;
	if (d->port < 0 || d->metrics_port < 0 || d->port == d->metrics_port)
		return -1;
	snprintf(d->target, sizeof(d->target), "127.0.0.1:%d", d->port);
	snprintf(d->conf, sizeof(d->conf), "%s/signetd.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/signetd.log", d->dir);
	char extra2[1024];
	snprintf(extra2, sizeof(extra2), "%s%s%s%s", extra ? extra : "",
		 for_user ? "user = \"" : "", for_user ? for_user : "", for_user ? "\";\n" : "");
	daemon_write_config(d, d->conf, d->port, d->metrics_port, extra2);
	if (for_user) {
		/* What an operator does: the state and the token's files belong
		 * to the service user; the PIN file stays root's, read before
		 * the drop. */
		snprintf(cmd, sizeof(cmd), "chown -R '%s:' '%s' '%s' && chown root: '%s'", for_user,
			 d->dir, d->f->dir, d->pin_path);
		if (system(cmd) != 0)
			return -1;
	}
	test_ksk_new(&d->ksk);

	char bin[512];
	snprintf(bin, sizeof(bin), "%s/signer/signetd", build);
	d->pid = fork();
	if (d->pid == 0) {
		if (!freopen(d->log, "w", stderr))
			_exit(126);
		execl(bin, bin, "-c", d->conf, "-v", (char *)NULL);
		_exit(127);
	}
	/* Channels made before the port is open back off for seconds. */
	for (int i = 0; i < 200 && !port_open(d->port); i++) {
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			break;
		}
		sleep_ms(50);
	}
	grpc_init();
	d->grpc_up = true;
	d->admin = conn(d, "admin");
	d->signer = conn(d, "ns1");
	if (!d->admin || !d->signer)
		return -1;
	char det[256] = "";
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	for (int i = 0; d->pid > 0 && i < 200; i++) {
		Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
		st = daemon_call(d->admin, "Health", &h.base, det, sizeof(det), NULL);
		if (st == GRPC_STATUS_OK)
			return 0;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			break;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "signetd did not answer (%d: %s); log:\n", (int)st, det);
	snprintf(cmd, sizeof(cmd), "cat '%s' >&2", d->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
	return -1;
}

int daemon_stop(daemon_env *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	int status = 0;
	for (int i = 0; i < 400; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return status;
		}
		sleep_ms(25);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
	return -1;
}

int daemon_teardown(daemon_env *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	rpc_close(d->admin);
	rpc_close(d->signer);
	d->admin = d->signer = NULL;
	if (d->grpc_up)
		grpc_shutdown();
	d->grpc_up = false;
	test_ksk_free(&d->ksk);
	softhsm_fixture_destroy(d->f);
	d->f = NULL;
	if (!d->dir[0])
		return 0;
	if (getenv("SIGNET_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", d->dir);
		return 0;
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	return system(cmd) == 0 ? 0 : -1;
}

static ProtobufCBinaryData wire(dns_name *n)
{
	ProtobufCBinaryData b = {n->len, n->wire};
	return b;
}

void daemon_add_zone(daemon_env *d, const char *zone, uint8_t alg, daemon_zone *out)
{
	char det[512];
	memset(out, 0, sizeof(*out));
	assert_int_equal(dns_name_from_str(&out->apex, zone), SIGNET_OK);
	out->alg = alg;
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = alg;
	az.zone = wire(&out->apex);
	az.policy = &pol;
	ProtobufCBinaryData kd = {d->ksk.dnskey_len, d->ksk.dnskey};
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	if (daemon_call(d->admin, "AddZone", &az.base, det, sizeof(det), NULL) != GRPC_STATUS_OK)
		fail_msg("AddZone %s: %s", zone, det);

	Signet__V1__GenerateZskRequest gz = SIGNET__V1__GENERATE_ZSK_REQUEST__INIT;
	gz.zone = wire(&out->apex);
	sg_buf resp = SG_BUF_INIT;
	if (daemon_call(d->admin, "GenerateZsk", &gz.base, det, sizeof(det), &resp) !=
	    GRPC_STATUS_OK)
		fail_msg("GenerateZsk %s: %s", zone, det);
	Signet__V1__GenerateZskResponse *gr =
		signet__v1__generate_zsk_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(gr);
	assert_non_null(gr->key);
	assert_int_equal(gr->key->algorithm, alg);
	assert_true(gr->key->dnskey.len <= sizeof(out->dnskey));
	memcpy(out->dnskey, gr->key->dnskey.data, gr->key->dnskey.len);
	out->dnskey_len = gr->key->dnskey.len;
	signet__v1__generate_zsk_response__free_unpacked(gr, NULL);
	assert_int_equal(dns_key_tag(out->dnskey, out->dnskey_len, &out->key_tag), SIGNET_OK);

	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = wire(&out->apex);
	er.days = 14;
	sg_buf_reset(&resp);
	if (daemon_call(d->admin, "ExportKeySigningRequest", &er.base, det, sizeof(det), &resp) !=
	    GRPC_STATUS_OK)
		fail_msg("ExportKeySigningRequest %s: %s", zone, det);
	Signet__V1__ExportKeySigningRequestResponse *ex =
		signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ex);
	sg_buf bundle = SG_BUF_INIT;
	test_ksk_make_bundle(&d->ksk, ex->request.data, ex->request.len, &bundle);
	signet__v1__export_key_signing_request_response__free_unpacked(ex, NULL);

	Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	ib.zone = wire(&out->apex);
	ib.bundle.data = bundle.data;
	ib.bundle.len = bundle.len;
	if (daemon_call(d->admin, "ImportKeyBundle", &ib.base, det, sizeof(det), NULL) !=
	    GRPC_STATUS_OK)
		fail_msg("ImportKeyBundle %s: %s", zone, det);
	sg_buf_free(&bundle);
	sg_buf_free(&resp);
}

static void a_rdata(unsigned i, uint8_t rd[4])
{
	rd[0] = 192;
	rd[1] = 0;
	rd[2] = (uint8_t)(i >> 8);
	rd[3] = (uint8_t)i;
}

static void owner_of(const char *zone, unsigned i, dns_name *out)
{
	char owner[300];
	snprintf(owner, sizeof(owner), "h%u.%s", i, zone);
	assert_int_equal(dns_name_from_str(out, owner), SIGNET_OK);
}

Signet__V1__SignResponse *daemon_sign_a(rpc_conn *c, const char *zone, unsigned first,
					unsigned n, grpc_status_code *st)
{
	assert_true(n > 0 && n <= 100);
	Signet__V1__RRset rs[100];
	Signet__V1__RRset *rp[100];
	dns_name owners[100], apex;
	uint8_t a[100][4];
	ProtobufCBinaryData rd[100];
	for (unsigned i = 0; i < n; i++) {
		signet__v1__rrset__init(&rs[i]);
		owner_of(zone, first + i, &owners[i]);
		a_rdata(first + i, a[i]);
		rs[i].owner = wire(&owners[i]);
		rs[i].type = DNS_T_A;
		rs[i].rclass = 1;
		rs[i].ttl = 300;
		rd[i].data = a[i];
		rd[i].len = 4;
		rs[i].n_rdata = 1;
		rs[i].rdata = &rd[i];
		rp[i] = &rs[i];
	}
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	sr.zone = wire(&apex);
	sr.n_rrsets = n;
	sr.rrsets = rp;
	char det[512];
	sg_buf resp = SG_BUF_INIT;
	*st = daemon_call(c, "SignRRsets", &sr.base, det, sizeof(det), &resp);
	Signet__V1__SignResponse *r = NULL;
	if (*st == GRPC_STATUS_OK) {
		r = signet__v1__sign_response__unpack(NULL, resp.len, resp.data);
		assert_non_null(r);
		assert_int_equal(r->n_results, n);
	}
	sg_buf_free(&resp);
	return r;
}

void daemon_check_rrsig(const daemon_zone *z, unsigned i, const uint8_t *rdata, size_t len)
{
	char zs[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_to_str(&z->apex, zs, sizeof(zs)), SIGNET_OK);
	dns_name own;
	owner_of(zs, i, &own);
	dns_rrset s;
	dns_rrset_init(&s, &own, DNS_T_A, DNS_CLASS_IN, 300);
	uint8_t a[4];
	a_rdata(i, a);
	assert_int_equal(dns_rrset_add(&s, a, 4), SIGNET_OK);
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_from_rdata(&sig, rdata, len), SIGNET_OK);
	assert_int_equal(sig.algorithm, z->alg);
	assert_int_equal(sig.key_tag, z->key_tag);
	assert_int_equal(dns_rrsig_verify(&sig, &s, z->dnskey, z->dnskey_len, &z->apex,
					  (uint32_t)time(NULL)), SIGNET_OK);
	dns_rrset_clear(&s);
}

long daemon_http(int port, const char *req, size_t len, char *resp, size_t cap)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {10, 0};
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(s, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;  /* the server may answer (and close) before all is sent */
		off += (size_t)n;
	}
	size_t got = 0;
	for (;;) {
		if (got + 1 >= cap)
			break;
		ssize_t n = recv(s, resp + got, cap - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	close(s);
	return (long)got;
}

double metric_value(const char *body, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}

bool daemon_log_has(const daemon_env *d, const char *needle)
{
	sg_buf b = SG_BUF_INIT;
	bool found = sg_file_read(d->log, 1 << 24, &b) == SIGNET_OK &&
		     sg_buf_put_u8(&b, 0) == SIGNET_OK && strstr((char *)b.data, needle);
	sg_buf_free(&b);
	return found;
}
