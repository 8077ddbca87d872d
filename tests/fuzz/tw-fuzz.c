/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Helpers of the fuzz targets. Everything an input makes on disk lives in a
 * directory of its own under $TMPDIR, removed before the next input.
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tw-fuzz.h"

/* The loaders warn about every odd input: millions of lines for nothing.
 * Criticals and errors still show (and stop the run, see below); set
 * TW_FUZZ_VERBOSE=1 to see everything. */
static GLogWriterOutput
tw_fuzz_log_writer(GLogLevelFlags log_level,
		   const GLogField *fields,
		   gsize n_fields,
		   gpointer user_data)
{
	gboolean verbose = GPOINTER_TO_INT(user_data);

	if (!verbose && (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) == 0)
		return G_LOG_WRITER_HANDLED;
	return g_log_writer_default(log_level, fields, n_fields, NULL);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static gboolean done = FALSE;
	const gchar *verbose = g_getenv("TW_FUZZ_VERBOSE");

	if (done)
		return 0;
	done = TRUE;
	g_log_set_writer_func(tw_fuzz_log_writer,
			      GINT_TO_POINTER(verbose != NULL && *verbose != '\0'), NULL);
	/* a g_return_if_fail() reached from input is a bug in our code */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	return 0;
}

void
tw_fuzz_fail(const gchar *file, gint line, const gchar *expr)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, expr);
	abort();
}

/* what the daemon may put on D-Bus: never NULL, valid UTF-8 */
gboolean
tw_fuzz_str_ok(const gchar *str)
{
	return str != NULL && g_utf8_validate(str, -1, NULL);
}

gboolean
tw_fuzz_strv_ok(const gchar *const *strv)
{
	if (strv == NULL)
		return FALSE;
	for (guint i = 0; strv[i] != NULL; i++) {
		if (!g_utf8_validate(strv[i], -1, NULL))
			return FALSE;
	}
	return TRUE;
}

/* a new empty directory under $TMPDIR (or /tmp) */
gchar *
tw_fuzz_dir_new(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("tw-fuzz-XXXXXX", &error);

	if (dir == NULL) {
		fprintf(stderr, "tw-fuzz: %s\n", error->message);
		abort();
	}
	return dir;
}

/* removes @dir and what is in it; symbolic links are removed, never
 * followed (nothing the loaders do makes one, but be sure) */
void
tw_fuzz_dir_remove(const gchar *dir)
{
	g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
	const gchar *name;

	tw_fuzz_check(listing != NULL);
	while ((name = g_dir_read_name(listing)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		GStatBuf st;

		tw_fuzz_check(g_lstat(path, &st) == 0);
		if (S_ISDIR(st.st_mode))
			tw_fuzz_dir_remove(path);
		else
			tw_fuzz_check(g_unlink(path) == 0);
	}
	tw_fuzz_check(g_rmdir(dir) == 0);
}

void
tw_fuzz_mkdir(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	tw_fuzz_check(g_mkdir(path, 0700) == 0);
}

void
tw_fuzz_write(const gchar *dir, const gchar *name, const uint8_t *data, size_t size)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents_full(path, (const gchar *)data, (gssize)size,
				      G_FILE_SET_CONTENTS_NONE, 0600, &error)) {
		fprintf(stderr, "tw-fuzz: %s\n", error->message);
		abort();
	}
}
