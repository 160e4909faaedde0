/* test_interactive.c -- signet-ceremony on a pseudo-terminal: prompts, the request's words, operators in turn, passphrases never echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ceremony/ceremony.h"
#include "tests/lib/ceremony_fixture.h"

#define ZONE "example.com."

static const char *const names[3] = {"alice", "bob", "carol"};
static const char *const pws[3] = {"Alice-Secret-Words-1", "Bob-Secret-Words-22",
				   "Carol-Secret-Words-333"};
static cer_fixture cf;
static char req[700];          /* a create-ksk request */

static void fresh(char *out, size_t len, const char *stem)
{
	cfx_fresh(&cf, out, len, stem);
}

/* A child on a pseudo-terminal and what it has written so far. */
typedef struct term {
	int master;
	pid_t pid;
	sg_buf seen;
	size_t mark;   /* seen up to here was matched already */
} term;

static void term_start(term *t, const char *const *args)
{
	const char *argv[40];
	cfx_tool_argv(SIGNET_CEREMONY, args, argv, 40);
	t->seen = (sg_buf)SG_BUF_INIT;
	t->mark = 0;
	t->pid = forkpty(&t->master, NULL, NULL, NULL);
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		execv(SIGNET_CEREMONY, (char *const *)argv);
		_exit(127);
	}
}

/* Read what the child writes until needle appears after the last match
 * (or, with needle NULL, until it closes the terminal). 20 s at most. */
static void term_wait(term *t, const char *needle)
{
	time_t end = time(NULL) + 20;
	for (;;) {
		if (needle != NULL && t->seen.len > t->mark) {
			assert_int_equal(sg_buf_put_u8(&t->seen, 0), SIGNET_OK);
			t->seen.len--;
			const char *hit = strstr((const char *)t->seen.data + t->mark, needle);
			if (hit != NULL) {
				t->mark = (size_t)(hit - (const char *)t->seen.data) + strlen(needle);
				return;
			}
		}
		if (time(NULL) > end)
			fail_msg("no \"%s\" on the terminal; it shows:\n%.*s", needle ? needle : "EOF",
				 (int)t->seen.len, (const char *)t->seen.data);
		struct pollfd p = {.fd = t->master, .events = POLLIN};
		if (poll(&p, 1, 500) <= 0)
			continue;
		char buf[512];
		ssize_t r = read(t->master, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (needle == NULL)
				return;
			fail_msg("the terminal closed before \"%s\"; it showed:\n%.*s", needle,
				 (int)t->seen.len, (const char *)t->seen.data);
		}
		assert_int_equal(sg_buf_append(&t->seen, buf, (size_t)r), SIGNET_OK);
	}
}

static void term_type(term *t, const char *line)
{
	size_t n = strlen(line);
	assert_int_equal(write(t->master, line, n), (ssize_t)n);
	assert_int_equal(write(t->master, "\n", 1), 1);
}

/* Wait for prompt, then type line. */
static void term_answer(term *t, const char *prompt, const char *line)
{
	term_wait(t, prompt);
	term_type(t, line);
}

/* Wait for the child to end, check its status, and that no passphrase of
 * any operator ever showed on the terminal. */
static void term_end(term *t, int want)
{
	term_wait(t, NULL);
	int st = 0;
	assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
	close(t->master);
	for (int i = 0; i < 3; i++)
		for (size_t j = 0; j + strlen(pws[i]) <= t->seen.len; j++)
			if (memcmp(t->seen.data + j, pws[i], strlen(pws[i])) == 0)
				fail_msg("%s's passphrase was echoed:\n%.*s", names[i],
					 (int)t->seen.len, (const char *)t->seen.data);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want)
		fail_msg("exit status %d, wanted %d; the terminal showed:\n%.*s",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st), want,
			 (int)t->seen.len, (const char *)t->seen.data);
	sg_buf_free(&t->seen);
}

/* Operators, policy, token and a create-ksk request, made through the
 * library: what is under test here is the terminal. */
static int setup(void **state)
{
	(void)state;
	cfx_opts o = {.nops = 3, .names = names, .pws = pws, .shares_dir = true, .enroll = true};
	static const uint8_t algs[] = {13};
	if (cfx_create_ready(&cf, &o, algs, 1) != SIGNET_OK)
		return -1;
	const char *params[] = {"algorithm=13"};
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cfx_destroy(&cf);
	return 0;
}

static char approvals[2][700];   /* alice's and carol's, made at the terminal */

static void test_approve_at_terminal(void **state)
{
	(void)state;
	cer_request r;
	assert_int_equal(cer_request_read(req, &r, CFX_ERR), SIGNET_OK);
	sg_buf words = SG_BUF_INIT;
	assert_int_equal(cer_words(r.hash, &words, CFX_ERR), SIGNET_OK);
	for (int k = 0; k < 2; k++) {
		int who = k == 0 ? 0 : 2;
		fresh(approvals[k], sizeof(approvals[k]), "approval");
		const char *args[] = {"approve", "--request", req, "--key", cf.keyfile[who],
				      "--out", approvals[k], "--interactive", NULL};
		term t;
		term_start(&t, args);
		/* the request, its hash as words, then the question */
		term_wait(&t, "operation create-ksk");
		term_wait(&t, (const char *)words.data);
		term_answer(&t, "Type yes:", "yes");
		term_answer(&t, "Passphrase of your approval key:", pws[who]);
		term_end(&t, 0);
		assert_int_equal(access(approvals[k], F_OK), 0);
	}
	sg_buf_free(&words);

	/* anything but yes approves nothing */
	char out[700];
	fresh(out, sizeof(out), "approval");
	const char *no[] = {"approve", "--request", req, "--key", cf.keyfile[1], "--out", out,
			    "--interactive", NULL};
	term t;
	term_start(&t, no);
	term_answer(&t, "Type yes:", "no");
	term_wait(&t, "not approved");
	term_end(&t, 3);
	assert_int_not_equal(access(out, F_OK), 0);

	/* a wrong passphrase: refused, said so */
	term_start(&t, no);
	term_answer(&t, "Type yes:", "yes");
	term_answer(&t, "Passphrase of your approval key:", pws[0]);  /* alice's, for bob's key */
	term_wait(&t, "wrong passphrase");
	term_end(&t, 3);
	assert_int_not_equal(access(out, F_OK), 0);
}

static void test_execute_in_turn(void **state)
{
	(void)state;
	char share_a[720], share_c[720], out[700];
	snprintf(share_a, sizeof(share_a), "alice=%s/alice.share", cf.shares);
	snprintf(share_c, sizeof(share_c), "carol=%s/carol.share", cf.shares);
	fresh(out, sizeof(out), "ksk");
	const char *args[] = {"execute", "--dir", cf.cdir, "--request", req, "--approval",
			      approvals[0], "--approval", approvals[1], "--share", share_a,
			      "--share", share_c, "--out", out, "--interactive", NULL};
	/* carol types a wrong passphrase: refused before the token is touched */
	term t;
	term_start(&t, args);
	term_wait(&t, "read aloud:");
	term_answer(&t, "alice, your passphrase:", pws[0]);
	term_answer(&t, "carol, your passphrase:", pws[1]);
	term_wait(&t, "wrong passphrase, or the share was altered");
	term_end(&t, 3);
	assert_int_not_equal(access(out, F_OK), 0);

	/* in turn, right: done */
	term_start(&t, args);
	term_wait(&t, "operation create-ksk");
	term_answer(&t, "alice, your passphrase:", pws[0]);
	term_answer(&t, "carol, your passphrase:", pws[2]);
	term_wait(&t, "done");
	term_end(&t, 0);
	assert_int_equal(access(out, F_OK), 0);

	/* a passphrase source of tty works the same way, without --interactive */
	char pa[40], pc[40], out2[700], req2[700], a2[2][700];
	const char *params[] = {"algorithm=13"};
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req2, sizeof(req2));
	for (int i = 0; i < 2; i++)
		cfx_approve(&cf, req2, i, a2[i], sizeof(a2[i]));
	snprintf(pa, sizeof(pa), "alice=tty");
	snprintf(pc, sizeof(pc), "carol=tty");
	fresh(out2, sizeof(out2), "ksk");
	const char *tty[] = {"execute", "--dir", cf.cdir, "--request", req2, "--approval", a2[0],
			     "--approval", a2[1], "--share", share_a, "--share", share_c,
			     "--pass", pa, "--pass", pc, "--out", out2, NULL};
	term_start(&t, tty);
	term_answer(&t, "alice, your passphrase:", pws[0]);
	term_answer(&t, "carol, your passphrase:", pws[2]);
	term_wait(&t, "done");
	term_end(&t, 0);
	assert_int_equal(access(out2, F_OK), 0);
}

static void test_enroll_at_terminal(void **state)
{
	(void)state;
	char k[700], pb[700];
	fresh(k, sizeof(k), "dave.key");
	fresh(pb, sizeof(pb), "dave.pub");
	const char *args[] = {"enroll", "--name", "dave", "--key", k, "--pub", pb,
			      "--passphrase", "tty", NULL};
	/* two different passphrases: nothing written */
	term t;
	term_start(&t, args);
	term_answer(&t, "New passphrase:", pws[0]);
	term_answer(&t, "The same passphrase again:", pws[1]);
	term_wait(&t, "differ");
	term_end(&t, 3);
	assert_int_not_equal(access(k, F_OK), 0);
	term_start(&t, args);
	term_answer(&t, "New passphrase:", pws[2]);
	term_answer(&t, "The same passphrase again:", pws[2]);
	term_end(&t, 0);
	assert_int_equal(access(k, F_OK), 0);
	/* and the key opens with what was typed */
	uint8_t sig[CER_SIG_LEN];
	cer_operator who;
	assert_int_equal(cer_operator_sign(k, cf.pass[2], (const uint8_t *)"x", 1, sig, &who, CFX_ERR),
			 SIGNET_OK);
	assert_string_equal(who.name, "dave");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_approve_at_terminal),
		cmocka_unit_test(test_execute_in_turn),
		cmocka_unit_test(test_enroll_at_terminal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
