/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The stand-alone driver: links with a fuzz target instead of libFuzzer, so
 * that any compiler builds the targets and the test suite replays the seed
 * corpora (and any crash file) under ASan, UBSan or valgrind.
 *
 *   fuzz-TARGET FILE|DIRECTORY...
 *
 * Every regular file given, and every regular file in a directory given
 * (not recursively, in name order), is fed to LLVMFuzzerTestOneInput()
 * once. Exit status 0 when all ran, 1 when a file could not be read or no
 * input was found, 2 on usage; a finding aborts.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tw-fuzz.h"

static gboolean
tw_fuzz_main_run_file(const gchar *path, guint *count)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	gsize size = 0;

	if (!g_file_get_contents(path, &data, &size, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return FALSE;
	}
	if (g_getenv("TW_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "running %s (%" G_GSIZE_FORMAT " bytes)\n", path, size);
	/* a copy of exactly @size bytes: ASan sees any read past the end */
	{
		g_autofree guint8 *copy = g_memdup2(data, size);

		LLVMFuzzerTestOneInput(copy, size);
	}
	(*count)++;
	return TRUE;
}

static gint
tw_fuzz_main_compare(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const gchar *const *)a, *(const gchar *const *)b);
}

static gboolean
tw_fuzz_main_run_dir(const gchar *dir, guint *count)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) listing = g_dir_open(dir, 0, &error);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;
	gboolean ok = TRUE;

	if (listing == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return FALSE;
	}
	while ((name = g_dir_read_name(listing)) != NULL) {
		gchar *path = g_build_filename(dir, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			g_ptr_array_add(paths, path);
		else
			g_free(path);
	}
	g_ptr_array_sort(paths, tw_fuzz_main_compare);
	for (guint i = 0; i < paths->len; i++)
		ok &= tw_fuzz_main_run_file(g_ptr_array_index(paths, i), count);
	return ok;
}

int
main(int argc, char **argv)
{
	gboolean ok = TRUE;
	guint count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIRECTORY...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (gint i = 1; i < argc; i++) {
		if (g_file_test(argv[i], G_FILE_TEST_IS_DIR))
			ok &= tw_fuzz_main_run_dir(argv[i], &count);
		else
			ok &= tw_fuzz_main_run_file(argv[i], &count);
	}
	printf("%s: %u inputs run\n", argv[0], count);
	if (count == 0) {
		fprintf(stderr, "no input found\n");
		return 1;
	}
	return ok ? 0 : 1;
}
