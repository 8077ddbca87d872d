/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * How fast the state store (daemon/tw-store.c) writes and loads a big
 * state: by default 1,000 tokens and 10,000 certificates of 1.1 to 1.35 KiB
 * of DER each, made from the certificate fixtures when given. Prints what it
 * measured, and one JSON line at the end. Figures: docs/state.md.
 *
 *   build/tests/store/bench-store [--dir DIR] [--der-dir build/tests/data/certs]
 *                                 [--tokens N] [--certificates N] [--loads N]
 *                                 [--drop-caches]
 *
 * DIR (default: a new directory in $TMPDIR, removed at the end) must be on
 * the disk to measure: a tmpfs makes fsync() free. --drop-caches (root) also
 * loads once from a cold page cache.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tw-store.h"

static gint n_tokens = 1000;
static gint n_certificates = 10000;
static gint n_loads = 5;
static gchar *dir = NULL;
static gchar *der_dir = NULL;
static gboolean drop_caches = FALSE;

static const GOptionEntry bench_options[] = {
	{"dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "State directory (must not exist)", "DIR"},
	{"der-dir", 0, 0, G_OPTION_ARG_FILENAME, &der_dir, "Directory of *.der fixtures", "DIR"},
	{"tokens", 0, 0, G_OPTION_ARG_INT, &n_tokens, "Tokens (1000)", "N"},
	{"certificates", 0, 0, G_OPTION_ARG_INT, &n_certificates, "Certificates (10000)", "N"},
	{"loads", 0, 0, G_OPTION_ARG_INT, &n_loads, "Warm loads to time (5)", "N"},
	{"drop-caches", 0, 0, G_OPTION_ARG_NONE, &drop_caches, "Also a cold load (root)", NULL},
	{NULL},
};

/* the fixtures that parse as certificates, or one of random bytes */
static GPtrArray *
bench_read_fixtures(void)
{
	GPtrArray *fixtures = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GDir) listing = der_dir != NULL ? g_dir_open(der_dir, 0, NULL) : NULL;
	const gchar *name;

	while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
		g_autofree gchar *path = g_build_filename(der_dir, name, NULL);
		gchar *data = NULL;
		gsize len = 0;

		if (!g_str_has_suffix(name, ".der") || g_str_has_prefix(name, "garbage") ||
		    g_str_has_prefix(name, "odd"))
			continue;
		if (g_file_get_contents(path, &data, &len, NULL) && len > 100)
			g_ptr_array_add(fixtures, g_bytes_new_take(data, len));
		else
			g_free(data);
	}
	if (fixtures->len == 0) {
		guchar *data = g_malloc(1024);

		for (guint i = 0; i < 1024; i++)
			data[i] = (guchar)g_random_int_range(0, 256);
		g_ptr_array_add(fixtures, g_bytes_new_take(data, 1024));
	}
	return fixtures;
}

/* a fixture made unique by the index written over the last bytes, which
 * are inside the signature: it still parses as the same certificate, as the
 * daemon will read it */
static GBytes *
bench_der(GPtrArray *fixtures, guint i)
{
	GBytes *base = g_ptr_array_index(fixtures, i % fixtures->len);
	gsize len = 0;
	const guchar *bytes = g_bytes_get_data(base, &len);
	guchar *der = g_memdup2(bytes, len);

	for (gsize j = 0; j < 4 && j < len; j++)
		der[len - 1 - j] = (guchar)(i >> (8 * j));
	return g_bytes_new_take(der, len);
}

/* the daemon names a certificate by the first 16 hex digits of its SHA-256 */
static gchar *
bench_cert_id(GBytes *der)
{
	g_autofree gchar *sum = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, der);

	return g_strndup(sum, 16);
}

static gchar *
bench_id(guint prefix, guint n)
{
	return g_strdup_printf("%08x%08x", prefix, n);
}

static void
bench_put_all(TwStore *store, GPtrArray *fixtures)
{
	guint per_token = (guint)MAX(1, n_certificates / MAX(1, n_tokens));

	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);

	for (gint i = 0; i < n_certificates; i++) {
		g_autoptr(GBytes) der = bench_der(fixtures, (guint)i);
		g_autofree gchar *id = bench_cert_id(der);
		g_autoptr(TwStoredCertificate) cert = tw_stored_certificate_new(id);
		const gchar *warned[] = {"60", "30", NULL};

		g_ptr_array_add(ids, g_strdup(id));
		g_clear_pointer(&cert->der, g_bytes_unref);
		cert->der = g_bytes_ref(der);
		cert->token = bench_id(0x70, (guint)i / per_token);
		cert->label = g_strdup_printf("Certificate for digital signature %d", i);
		cert->ckaid = g_strdup_printf("%040x", i);
		cert->first_seen = 1700000000 + i;
		cert->last_seen = 1790000000 + i;
		g_strfreev(cert->warnings);
		cert->warnings = g_strdupv((gchar **)warned);
		tw_store_put_certificate(store, cert);
	}
	for (gint i = 0; i < n_tokens; i++) {
		g_autofree gchar *id = bench_id(0x70, (guint)i);
		g_autoptr(TwStoredToken) token = tw_stored_token_new(id);

		token->label = g_strdup_printf("Jan Novák %d", i);
		token->manufacturer = g_strdup("Giesecke+Devrient");
		token->model = g_strdup("StarCOS 3.5");
		token->serial = g_strdup_printf("%016d", i);
		token->module = g_strdup("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so");
		token->reader = g_strdup("Alcor Micro AU9560 00 00");
		token->atr = g_strdup("3bd518ff8191fe1fc38073c8211008");
		token->first_seen = 1700000000 + i;
		token->last_seen = 1790000000 + i;
		token->flags = 0x60d;
		token->total_memory = 81920;
		token->free_memory = 40960;
		g_strfreev(token->certificates);
		token->certificates = g_new0(gchar *, per_token + 1);
		for (guint k = 0; k < per_token; k++)
			token->certificates[k] =
				g_strdup(g_ptr_array_index(ids, i * per_token + k));
		tw_store_put_token(store, token);
	}
}

static void
bench_disk_usage(const gchar *path, guint64 *files, guint64 *bytes, guint64 *allocated)
{
	g_autoptr(GDir) listing = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);
		GStatBuf st;

		if (g_lstat(child, &st) != 0)
			continue;
		*allocated += (guint64)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			bench_disk_usage(child, files, bytes, allocated);
		} else {
			*files += 1;
			*bytes += (guint64)st.st_size;
		}
	}
}

static void
bench_remove_tree(const gchar *path)
{
	g_autoptr(GDir) listing = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			bench_remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

static G_NORETURN void
bench_fail(const gchar *what, const GError *error)
{
	g_printerr("%s%s%s\n", what, error != NULL ? ": " : "",
		   error != NULL ? error->message : "");
	exit(1);
}

static gdouble
bench_load(guint *loaded)
{
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();

	if (!tw_store_load(store, &tokens, &certs, &error))
		bench_fail("load", error);
	*loaded = tokens->len + certs->len;
	return (gdouble)(g_get_monotonic_time() - start) / 1000.0;
}

static gint
bench_compare_double(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a;
	gdouble y = *(const gdouble *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("- time the state store");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) fixtures = NULL;
	g_autoptr(TwStore) store = NULL;
	g_autoptr(GArray) loads = g_array_new(FALSE, FALSE, sizeof(gdouble));
	guint64 files = 0, bytes = 0, allocated = 0;
	gdouble put_ms, write_ms, update_ms, cold_ms = -1;
	guint loaded = 0;
	g_autofree gchar *base = NULL;
	gint64 start;

	g_option_context_add_main_entries(context, bench_options, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	if (dir == NULL) {
		base = g_dir_make_tmp("tw-bench-store-XXXXXX", &error);
		if (base == NULL)
			bench_fail("temporary directory", error);
		dir = g_build_filename(base, "state", NULL);
	}
	if (g_file_test(dir, G_FILE_TEST_EXISTS)) {
		g_printerr("%s exists: give a new directory\n", dir);
		return 2;
	}
	fixtures = bench_read_fixtures();
	store = tw_store_new(dir);

	/* the caller's side: serialise and queue */
	start = g_get_monotonic_time();
	bench_put_all(store, fixtures);
	put_ms = (gdouble)(g_get_monotonic_time() - start) / 1000.0;
	/* the worker's: every file written, synced */
	if (!tw_store_flush(store, 3600 * 1000))
		bench_fail("flush: the state could not be written", NULL);
	write_ms = (gdouble)(g_get_monotonic_time() - start) / 1000.0;

	/* what one change costs once written: a token seen again */
	{
		g_autoptr(TwStoredToken) token = tw_stored_token_new("0000007000000000");

		token->last_seen = 1800000000;
		start = g_get_monotonic_time();
		tw_store_put_token(store, token);
		if (!tw_store_flush(store, 60000))
			bench_fail("flush: the state could not be written", NULL);
		update_ms = (gdouble)(g_get_monotonic_time() - start) / 1000.0;
	}
	g_clear_object(&store);
	bench_disk_usage(dir, &files, &bytes, &allocated);

	if (drop_caches) {
		sync();
		FILE *f = fopen("/proc/sys/vm/drop_caches", "we");

		if (f == NULL || fputs("3\n", f) < 0 || fclose(f) != 0)
			bench_fail("drop caches: needs root", NULL);
		cold_ms = bench_load(&loaded);
	}
	for (gint i = 0; i < n_loads; i++) {
		gdouble ms = bench_load(&loaded);

		g_array_append_val(loads, ms);
	}
	g_array_sort(loads, bench_compare_double);

	g_print("records:        %d tokens, %d certificates (DER from %u fixtures)\n", n_tokens,
		n_certificates, fixtures->len);
	g_print("put (caller):   %.1f ms, %.1f us per record\n", put_ms,
		put_ms * 1000.0 / (n_tokens + n_certificates));
	g_print("written:        %.0f ms (one fsync'd file each)\n", write_ms);
	g_print("one update:     %.1f ms (put + flush of one token)\n", update_ms);
	g_print("disk:           %" G_GUINT64_FORMAT
		" files, %.1f MiB content, %.1f MiB allocated\n",
		files, bytes / 1048576.0, allocated / 1048576.0);
	if (cold_ms >= 0)
		g_print("load, cold:     %.0f ms\n", cold_ms);
	if (loads->len > 0)
		g_print("load, warm:     median %.0f ms, min %.0f, max %.0f (%u loads, %u "
			"records)\n",
			g_array_index(loads, gdouble, loads->len / 2),
			g_array_index(loads, gdouble, 0),
			g_array_index(loads, gdouble, loads->len - 1), loads->len, loaded);
	g_print("{\"tokens\": %d, \"certificates\": %d, \"put_ms\": %.1f, \"write_ms\": %.0f, "
		"\"update_ms\": %.1f, \"files\": %" G_GUINT64_FORMAT
		", \"bytes\": %" G_GUINT64_FORMAT ", \"allocated\": %" G_GUINT64_FORMAT
		", \"load_cold_ms\": %.0f, "
		"\"load_warm_median_ms\": %.0f}\n",
		n_tokens, n_certificates, put_ms, write_ms, update_ms, files, bytes, allocated,
		cold_ms, loads->len > 0 ? g_array_index(loads, gdouble, loads->len / 2) : -1.0);
	if (base != NULL)
		bench_remove_tree(base);
	g_free(dir);
	g_free(der_dir);
	return 0;
}
