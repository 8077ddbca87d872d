/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the state loader (daemon/tw-store.c). The input is one
 * record file; it is put in a private temporary state directory both as a
 * certificate and as a token record and loaded with tw_store_load(), as the
 * daemon does at start-up: a broken record is moved aside, an old one is
 * migrated. Then every record loaded is put back and written, as the daemon
 * does when it changes one, and the directory is loaded again: what was
 * written must read back the same, and nothing must be migrated again.
 */
#include "config.h"

#include "tw-fuzz.h"
#include "tw-store.h"

#define TW_FUZZ_RECORD_ID "0123456789abcdef"

static gboolean
tw_fuzz_strv_equal(GStrv a, GStrv b)
{
	return a != NULL && b != NULL &&
	       g_strv_equal((const gchar *const *)a, (const gchar *const *)b);
}

static gboolean
tw_fuzz_token_equal(const TwStoredToken *a, const TwStoredToken *b)
{
	return g_strcmp0(a->id, b->id) == 0 && g_strcmp0(a->label, b->label) == 0 &&
	       g_strcmp0(a->manufacturer, b->manufacturer) == 0 &&
	       g_strcmp0(a->model, b->model) == 0 && g_strcmp0(a->serial, b->serial) == 0 &&
	       g_strcmp0(a->module, b->module) == 0 && g_strcmp0(a->reader, b->reader) == 0 &&
	       g_strcmp0(a->atr, b->atr) == 0 && a->first_seen == b->first_seen &&
	       a->last_seen == b->last_seen && a->flags == b->flags &&
	       a->total_memory == b->total_memory && a->free_memory == b->free_memory &&
	       a->unpaired_keys == b->unpaired_keys &&
	       tw_fuzz_strv_equal(a->certificates, b->certificates) &&
	       tw_fuzz_strv_equal(a->device_warnings, b->device_warnings) &&
	       tw_fuzz_strv_equal(a->owners, b->owners);
}

static gboolean
tw_fuzz_certificate_equal(const TwStoredCertificate *a, const TwStoredCertificate *b)
{
	return g_strcmp0(a->id, b->id) == 0 && a->der != NULL && b->der != NULL &&
	       g_bytes_equal(a->der, b->der) && g_strcmp0(a->token, b->token) == 0 &&
	       g_strcmp0(a->label, b->label) == 0 && g_strcmp0(a->ckaid, b->ckaid) == 0 &&
	       a->first_seen == b->first_seen && a->last_seen == b->last_seen &&
	       tw_fuzz_strv_equal(a->warnings, b->warnings) &&
	       g_strcmp0(a->superseded_by, b->superseded_by) == 0;
}

/* what tw-store.h promises after a load */
static void
tw_fuzz_check_token(const TwStoredToken *token)
{
	tw_fuzz_check(g_strcmp0(token->id, TW_FUZZ_RECORD_ID) == 0);
	tw_fuzz_check(token->label != NULL && token->manufacturer != NULL && token->model != NULL &&
		      token->serial != NULL && token->module != NULL && token->reader != NULL &&
		      token->atr != NULL);
	tw_fuzz_check(token->certificates != NULL && token->device_warnings != NULL &&
		      token->owners != NULL);
	for (guint i = 0; token->certificates[i] != NULL; i++)
		tw_fuzz_check(tw_store_id_is_valid(token->certificates[i]));
}

static void
tw_fuzz_check_certificate(const TwStoredCertificate *cert)
{
	tw_fuzz_check(g_strcmp0(cert->id, TW_FUZZ_RECORD_ID) == 0);
	tw_fuzz_check(cert->der != NULL && cert->token != NULL && cert->label != NULL &&
		      cert->ckaid != NULL && cert->warnings != NULL);
	tw_fuzz_check(*cert->token == '\0' || tw_store_id_is_valid(cert->token));
	tw_fuzz_check(cert->superseded_by == NULL || tw_store_id_is_valid(cert->superseded_by));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree gchar *dir = tw_fuzz_dir_new();
	g_autofree gchar *certs_dir = g_build_filename(dir, "certificates", NULL);
	g_autofree gchar *tokens_dir = g_build_filename(dir, "tokens", NULL);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GPtrArray) tokens_again = NULL;
	g_autoptr(GPtrArray) certs_again = NULL;
	g_autoptr(GError) error = NULL;
	TwStore *store;

	tw_fuzz_mkdir(dir, "certificates");
	tw_fuzz_mkdir(dir, "tokens");
	tw_fuzz_write(certs_dir, TW_FUZZ_RECORD_ID ".cert", data, size);
	tw_fuzz_write(tokens_dir, TW_FUZZ_RECORD_ID ".token", data, size);

	/* load: a bad record costs itself, never the load */
	store = tw_store_new(dir);
	tw_fuzz_check(tw_store_load(store, &tokens, &certs, &error));
	tw_fuzz_check(tokens->len <= 1 && certs->len <= 1);
	for (guint i = 0; i < tokens->len; i++) {
		tw_fuzz_check_token(g_ptr_array_index(tokens, i));
		tw_store_put_token(store, g_ptr_array_index(tokens, i));
	}
	for (guint i = 0; i < certs->len; i++) {
		tw_fuzz_check_certificate(g_ptr_array_index(certs, i));
		tw_store_put_certificate(store, g_ptr_array_index(certs, i));
	}
	/* write: a private directory on a healthy disk takes every record */
	tw_fuzz_check(tw_store_flush(store, 30000));
	tw_fuzz_check(tw_store_get_healthy(store));
	g_object_unref(store);

	/* read back: the same records, in the current version */
	store = tw_store_new(dir);
	tw_fuzz_check(tw_store_load(store, &tokens_again, &certs_again, &error));
	tw_fuzz_check(tw_store_get_pending(store) == 0);
	tw_fuzz_check(tokens_again->len == tokens->len && certs_again->len == certs->len);
	for (guint i = 0; i < tokens->len; i++)
		tw_fuzz_check(tw_fuzz_token_equal(g_ptr_array_index(tokens, i),
						  g_ptr_array_index(tokens_again, i)));
	for (guint i = 0; i < certs->len; i++)
		tw_fuzz_check(tw_fuzz_certificate_equal(g_ptr_array_index(certs, i),
							g_ptr_array_index(certs_again, i)));
	g_object_unref(store);

	tw_fuzz_dir_remove(dir);
	return 0;
}
