/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the fuzz targets share: the libFuzzer entry points, quiet logging,
 * and a private temporary directory per input. See docs/fuzzing.md.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* the libFuzzer interface; tw-fuzz-main.c calls them the same way */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops with a message: a broken invariant is a finding like a crash. */
#define tw_fuzz_check(expr)                                      \
	G_STMT_START                                             \
	{                                                        \
		if (G_UNLIKELY(!(expr)))                         \
			tw_fuzz_fail(__FILE__, __LINE__, #expr); \
	}                                                        \
	G_STMT_END

G_NORETURN void tw_fuzz_fail(const gchar *file, gint line, const gchar *expr);

gboolean tw_fuzz_str_ok(const gchar *str);
gboolean tw_fuzz_strv_ok(const gchar *const *strv);

gchar *tw_fuzz_dir_new(void) G_GNUC_WARN_UNUSED_RESULT;
void tw_fuzz_dir_remove(const gchar *dir);
void tw_fuzz_mkdir(const gchar *dir, const gchar *name);
void tw_fuzz_write(const gchar *dir, const gchar *name, const uint8_t *data, size_t size);

G_END_DECLS
