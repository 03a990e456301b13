// SPDX-License-Identifier: GPL-2.0
/* The shell's command line, read as far as agentcg-sh needs: its mode
 * and command; and a call label from that command. */
#include <stdbool.h>
#include <string.h>

#include "sh.h"

/* Long options of bash that take the next word. */
static bool long_takes_word(const char *a)
{
	return !strcmp(a, "--rcfile") || !strcmp(a, "--init-file");
}

void sh_args_parse(int argc, char *const *argv, struct sh_args *out)
{
	bool cflag = false, sflag = false;
	int i = 1;

	while (i < argc) {
		const char *a = argv[i];

		if (!strcmp(a, "--") || !strcmp(a, "-")) {
			i++;
			break;
		}
		if (a[0] == '-' && a[1] == '-') {
			i += long_takes_word(a) ? 2 : 1;
			continue;
		}
		if ((a[0] != '-' && a[0] != '+') || !a[1])
			break;
		i++;
		for (const char *p = a + 1; *p; p++) {
			if (*p == 'c' && a[0] == '-')
				cflag = true;
			else if (*p == 's' && a[0] == '-')
				sflag = true;
			else if (*p == 'o' || *p == 'O')
				i++; /* -o NAME, +O NAME: the word is the option's */
		}
	}
	out->command = NULL;
	if (cflag) {
		out->mode = SH_COMMAND;
		out->command = i < argc ? argv[i] : NULL;
	} else if (sflag || i >= argc) {
		out->mode = SH_STDIN;
	} else {
		out->mode = SH_SCRIPT;
		out->command = argv[i];
	}
}

/* ---- a label from the command ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Ends a plain word: blanks, operators, quoting and expansions. */
static bool ends_word(char c)
{
	return !c || is_blank(c) || strchr(";&|<>()`$\"'\\{}", c);
}

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* The plain word at p: its length, 0 when p holds none (it starts with
 * an operator, or quoting or an expansion is part of it). */
static size_t word_len(const char *p)
{
	size_t n = 0;

	while (!ends_word(p[n]))
		n++;
	if (p[n] && !is_blank(p[n]) && !strchr(";&|<>()", p[n]))
		return 0;
	return n;
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return n == strlen(w) && !strncmp(p, w, n);
}

/* A = before any '/' of the word: an assignment (NAME=value). */
static bool is_assignment(const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);

	return eq && eq > p && !memchr(p, '/', (size_t)(eq - p));
}

/* Past the end of the first list ("&&", ";", "\n") at p; NULL if none. */
static const char *after_list(const char *p)
{
	for (; *p; p++) {
		if (*p == '\'' || *p == '"')
			return NULL; /* quoting: not worth following */
		if (*p == ';' || *p == '\n')
			return p + 1;
		if (p[0] == '&' && p[1] == '&')
			return p + 2;
	}
	return NULL;
}

static void put_label(const char *w, size_t n, char *buf, size_t len)
{
	const char *slash;
	size_t k = 0;

	while ((slash = memchr(w, '/', n))) {
		n -= (size_t)(slash + 1 - w);
		w = slash + 1;
	}
	for (size_t i = 0; i < n && k + 1 < len; i++) {
		char c = w[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || (c == '.' && k > 0))
			buf[k++] = c;
	}
	buf[k] = '\0';
}

static bool is_python(const char *p, size_t n)
{
	return (n >= 6 && !strncmp(p, "python", 6) &&
		strspn(p + 6, "0123456789.") >= n - 6);
}

void sh_label_of(const char *cmd, char *buf, size_t len)
{
	static const char *const wrappers[] = { "exec", "time", "nohup", "env", "command" };
	const char *p = cmd ? cmd : "";
	int words = 0;

	if (!len)
		return;
	buf[0] = '\0';
	while (*(p = skip_blanks(p)) && words++ < 64) {
		size_t n = word_len(p);
		bool skip = false;

		if (!n)
			return;
		if (word_is(p, n, "cd") || word_is(p, n, "pushd")) {
			p = after_list(p + n);
			if (!p)
				return;
			continue;
		}
		for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
			skip = skip || word_is(p, n, wrappers[i]);
		if (skip || is_assignment(p, n)) {
			p += n;
			continue;
		}
		if (is_python(p, n)) {
			const char *m = skip_blanks(p + n);
			size_t mn = word_len(m);

			if (word_is(m, mn, "-m")) {
				m = skip_blanks(m + mn);
				mn = word_len(m);
				if (mn) {
					put_label(m, mn, buf, len);
					return;
				}
			}
		}
		put_label(p, n, buf, len);
		return;
	}
}
