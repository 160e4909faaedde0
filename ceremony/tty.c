/* tty.c -- reading a passphrase from the terminal without echo. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ceremony/internal.h"

signet_err cer_read_passphrase_tty(const char *prompt, sg_secret **out, char *errmsg, size_t errlen)
{
	if (prompt == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"cer_read_passphrase_tty: bad argument");
	*out = NULL;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return cer_fail(errmsg, errlen, SIGNET_EIO,
				"no terminal to read a passphrase from; use "
				"file:, fd: or env:");
	struct termios old, quiet;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return cer_fail(errmsg, errlen, SIGNET_EIO, "cannot read the terminal settings");
	}
	quiet = old;
	quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo goes off before the prompt shows: whoever types as soon as she
	 * sees it must not have her first characters echoed or flushed. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0 || write(fd, prompt, strlen(prompt)) < 0) {
		(void)tcsetattr(fd, TCSAFLUSH, &old);
		close(fd);
		return cer_fail(errmsg, errlen, SIGNET_EIO, "cannot turn echo off");
	}
	sg_secret *s = NULL;
	signet_err err = sg_secret_new(SG_SECRET_MAX, &s);
	size_t n = 0;
	while (err == SIGNET_OK) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n == SG_SECRET_MAX) {
			err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
				       "passphrase longer than %d octets", SG_SECRET_MAX);
			break;
		}
		s->data[n++] = (uint8_t)c;
	}
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		err = err == SIGNET_OK ? SIGNET_OK : err;
	close(fd);
	if (err == SIGNET_OK && n == 0)
		err = cer_fail(errmsg, errlen, SIGNET_EINVAL, "empty passphrase");
	if (err != SIGNET_OK) {
		sg_secret_free(s);
		return err;
	}
	s->len = n;
	s->data[n] = '\0';
	*out = s;
	return SIGNET_OK;
}
