/* signetd_fixture.c -- a real signetd on 127.0.0.1 with a test PKI. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

void signetd_fixture_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

void signetd_fixture_make_pki(const char *d)
{
	signetd_fixture_sh(
		"cd '%s' && for ca in ca ca2; do openssl req -x509 -newkey ec"
		" -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem -days 2"
		" -subj /CN=signet-test-$ca -addext basicConstraints=critical,CA:TRUE"
		" -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || exit 1; done", d);
	static const struct {
		const char *name, *ca, *cn, *san, *eku;
	} certs[] = {
		{"server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1", "serverAuth"},
		{"ns1", "ca", "ignored-cn.test", "DNS:ns1.test", "clientAuth"},
		{"admin", "ca", "admin", "DNS:admin.test", "clientAuth"},
		{"cnonly", "ca", "cnonly.test", NULL, "clientAuth"},
		{"stranger", "ca", "stranger.test", "DNS:stranger.test", "clientAuth"},
		{"foreign", "ca2", "ns1.test", "DNS:ns1.test", "clientAuth"},
	};
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		signetd_fixture_sh(
			"cd '%s' && printf 'extendedKeyUsage=%s\\n%s%s\\n' > %s.ext &&"
			" openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
			" -keyout %s.key -out %s.csr -subj /CN=%s 2>/dev/null &&"
			" openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial"
			" -days 2 -extfile %s.ext -out %s.pem 2>/dev/null",
			d, certs[i].eku, certs[i].san ? "subjectAltName=" : "",
			certs[i].san ? certs[i].san : "", certs[i].name, certs[i].name,
			certs[i].name, certs[i].cn, certs[i].name, certs[i].ca, certs[i].ca,
			certs[i].name, certs[i].name);
	}
}

int signetd_fixture_free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0) {
		close(s);
		return -1;
	}
	close(s);
	return ntohs(a.sin_port);
}

void signetd_fixture_write_config(const char *path, softhsm_fixture *f, const char *dir,
				  int port, const char *extra)
{
	char pin[400];
	assert_int_equal(softhsm_fixture_pin_file(f, "pin", pin, sizeof(pin)), SIGNET_OK);
	FILE *c = fopen(path, "w");
	assert_non_null(c);
	fprintf(c, "# written by a test\n"
		   "listen = \"127.0.0.1:%d\";\n"
		   "tls-cert = \"%s/server.pem\";\ntls-key = \"%s/server.key\";\n"
		   "tls-ca = \"%s/ca.pem\";\n"
		   "pkcs11-module = \"%s\";\ntoken-label = \"%s\";\npin = \"file:%s\";\n"
		   "state-dir = \"%s/state\";\nworkers = 2;\n%s",
		port, dir, dir, dir, f->module, f->label, pin, dir, extra);
	fclose(c);
}

pid_t signetd_fixture_spawn(const char *conf, const char *log)
{
	const char *build = getenv("SIGNET_BUILD_DIR");
	if (!build)
		fail_msg("SIGNET_BUILD_DIR is not set");
	char bin[512];
	snprintf(bin, sizeof(bin), "%s/signer/signetd", build);
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen(log, "w", stderr))
			_exit(126);
		execl(bin, bin, "-c", conf, "-v", (char *)NULL);
		_exit(127);
	}
	return pid;
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

bool signetd_fixture_wait_port(int port)
{
	for (int i = 0; i < 200; i++) {
		if (port_open(port))
			return true;
		struct timespec ts = {0, 50000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

bool signetd_fixture_log_has(const char *log, const char *needle)
{
	sg_buf b = SG_BUF_INIT;
	bool found = sg_file_read(log, 1 << 22, &b) == SIGNET_OK &&
		     sg_buf_put_u8(&b, 0) == SIGNET_OK && strstr((char *)b.data, needle);
	sg_buf_free(&b);
	return found;
}
