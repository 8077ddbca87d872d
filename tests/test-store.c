/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The store (daemon/tw-store.c): records survive a round trip exactly, a
 * broken file costs only itself, old versions are migrated, a write that
 * fails is kept and retried, and a writer killed at any moment leaves only
 * complete records.
 *
 * Run as "test-store --sigkill-writer DIR" it is the writer that
 * /store/sigkill kills.
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tw-store.h"

#define TOKEN_A "0123456789abcdef"
#define TOKEN_B "00000000000000b0"
#define CERT_A	"fedcba9876543210"
#define CERT_B	"00000000000000c0"

typedef gboolean (*StoreCheck)(TwStore *store);

/* @name in this test's own state directory, which exists */
static gchar *
state_dir(const gchar *name)
{
	g_assert_cmpint(g_mkdir_with_parents(g_get_user_state_dir(), 0700), ==, 0);
	return g_build_filename(g_get_user_state_dir(), name, NULL);
}

static void
write_file(const gchar *dir, const gchar *subdir, const gchar *name, const gchar *data, gsize len)
{
	g_autofree gchar *parent = g_build_filename(dir, subdir, NULL);
	g_autofree gchar *path = g_build_filename(parent, name, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
	g_assert_true(g_file_set_contents(path, data, (gssize)len, &error));
	g_assert_no_error(error);
}

static gchar *
read_file(const gchar *dir, const gchar *subdir, const gchar *name, gsize *len)
{
	g_autofree gchar *path = g_build_filename(dir, subdir, name, NULL);
	g_autoptr(GError) error = NULL;
	gchar *data = NULL;

	g_assert_true(g_file_get_contents(path, &data, len, &error));
	g_assert_no_error(error);
	return data;
}

static gboolean
exists(const gchar *dir, const gchar *subdir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, subdir, name, NULL);

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

static guint
count_matching(const gchar *dir, const gchar *subdir, const gchar *pattern)
{
	g_autofree gchar *path = g_build_filename(dir, subdir, NULL);
	g_autoptr(GDir) listing = g_dir_open(path, 0, NULL);
	const gchar *name;
	guint n = 0;

	while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
		if (g_pattern_match_simple(pattern, name))
			n++;
	}
	return n;
}

static gboolean
check_written(TwStore *store)
{
	return tw_store_get_pending(store) == 0 && tw_store_get_healthy(store);
}

static gboolean
check_unhealthy(TwStore *store)
{
	return !tw_store_get_healthy(store);
}

static void
wait_for(TwStore *store, StoreCheck check)
{
	gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

	while (!check(store)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(2000);
	}
}

/* what a fresh store finds in @dir; anything it queues is written */
static void
load(const gchar *dir, GPtrArray **tokens, GPtrArray **certs)
{
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(GError) error = NULL;

	g_assert_true(tw_store_load(store, tokens, certs, &error));
	g_assert_no_error(error);
	g_assert_true(tw_store_flush(store, 30000));
}

static GBytes *
make_der(guint n, gsize size)
{
	guchar *der = g_malloc(size);

	for (gsize i = 0; i < size; i++)
		der[i] = (guchar)((n * 7 + i * 13) & 0xff);
	return g_bytes_new_take(der, size);
}

static TwStoredToken *
make_token(const gchar *id)
{
	TwStoredToken *token = tw_stored_token_new(id);
	const gchar *certs[] = {CERT_A, CERT_B, NULL};
	const gchar *warned[] = {"180", "90", NULL};

	/* bytes a token may give: not UTF-8, separators, escapes, spaces */
	token->label = g_strdup("\xff\xfe Karta \xe9\x01");
	token->manufacturer = g_strdup(" a;b=c\\n\nd\t[e] ");
	token->model = g_strdup("Česká karta ✓");
	token->serial = g_strdup("0012345678");
	token->module = g_strdup("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so");
	token->reader = g_strdup("Reader \x80\x81 00 00");
	token->atr = g_strdup("3bf81300008131fe15597562696b657934d4");
	token->first_seen = G_MININT64;
	token->last_seen = G_MAXINT64;
	token->flags = G_MAXUINT64;
	token->total_memory = 81920;
	token->free_memory = 1;
	token->unpaired_keys = G_MAXUINT;
	g_strfreev(token->certificates);
	token->certificates = g_strdupv((gchar **)certs);
	g_strfreev(token->device_warnings);
	token->device_warnings = g_strdupv((gchar **)warned);
	return token;
}

static TwStoredCertificate *
make_certificate(const gchar *id)
{
	TwStoredCertificate *cert = tw_stored_certificate_new(id);
	const gchar *warned[] = {"60", "30", "expired", NULL};

	cert->der = make_der(1, 1234);
	cert->token = g_strdup(TOKEN_A);
	cert->label = g_strdup("Podpisový certifikát; \xc3");
	cert->ckaid = g_strdup("01ab");
	cert->first_seen = 1700000000;
	cert->last_seen = 1700000100;
	g_strfreev(cert->warnings);
	cert->warnings = g_strdupv((gchar **)warned);
	cert->superseded_by = g_strdup(CERT_B);
	return cert;
}

static void
assert_token_equal(const TwStoredToken *a, const TwStoredToken *b)
{
	g_assert_cmpstr(a->id, ==, b->id);
	g_assert_cmpstr(a->label, ==, b->label);
	g_assert_cmpstr(a->manufacturer, ==, b->manufacturer);
	g_assert_cmpstr(a->model, ==, b->model);
	g_assert_cmpstr(a->serial, ==, b->serial);
	g_assert_cmpstr(a->module, ==, b->module);
	g_assert_cmpstr(a->reader, ==, b->reader);
	g_assert_cmpstr(a->atr, ==, b->atr);
	g_assert_cmpint(a->first_seen, ==, b->first_seen);
	g_assert_cmpint(a->last_seen, ==, b->last_seen);
	g_assert_cmpuint(a->flags, ==, b->flags);
	g_assert_cmpuint(a->total_memory, ==, b->total_memory);
	g_assert_cmpuint(a->free_memory, ==, b->free_memory);
	g_assert_cmpuint(a->unpaired_keys, ==, b->unpaired_keys);
	g_assert_true(g_strv_equal((const gchar *const *)a->certificates,
				   (const gchar *const *)b->certificates));
	g_assert_true(g_strv_equal((const gchar *const *)a->device_warnings,
				   (const gchar *const *)b->device_warnings));
}

static void
assert_certificate_equal(const TwStoredCertificate *a, const TwStoredCertificate *b)
{
	g_assert_cmpstr(a->id, ==, b->id);
	g_assert_true(g_bytes_equal(a->der, b->der));
	g_assert_cmpstr(a->token, ==, b->token);
	g_assert_cmpstr(a->label, ==, b->label);
	g_assert_cmpstr(a->ckaid, ==, b->ckaid);
	g_assert_cmpint(a->first_seen, ==, b->first_seen);
	g_assert_cmpint(a->last_seen, ==, b->last_seen);
	g_assert_true(
		g_strv_equal((const gchar *const *)a->warnings, (const gchar *const *)b->warnings));
	g_assert_cmpstr(a->superseded_by, ==, b->superseded_by);
}

static void
test_store_default_directory(void)
{
	g_autofree gchar *session = g_build_filename(g_get_user_state_dir(), "tokenwatch", NULL);

	g_unsetenv("STATE_DIRECTORY");
	g_assert_cmpstr(tw_store_default_directory(TRUE), ==, session);
	g_assert_cmpstr(tw_store_default_directory(FALSE), ==, TW_LOCALSTATEDIR "/lib/tokenwatch");
	/* systemd's, the first of several */
	g_setenv("STATE_DIRECTORY", "/var/lib/tokenwatch:/var/lib/other", TRUE);
	g_assert_cmpstr(tw_store_default_directory(FALSE), ==, "/var/lib/tokenwatch");
	g_assert_cmpstr(tw_store_default_directory(TRUE), ==, "/var/lib/tokenwatch");
	g_unsetenv("STATE_DIRECTORY");
}

static void
test_store_round_trip(void)
{
	g_autofree gchar *dir = state_dir("round-trip");
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(TwStoredToken) full = make_token(TOKEN_A);
	g_autoptr(TwStoredToken) empty = tw_stored_token_new(TOKEN_B);
	g_autoptr(TwStoredCertificate) cert = make_certificate(CERT_A);
	g_autoptr(TwStoredCertificate) bare = tw_stored_certificate_new(CERT_B);
	g_autoptr(TwStoredToken) full_copy = tw_stored_token_copy(full);
	g_autoptr(TwStoredCertificate) cert_copy = tw_stored_certificate_copy(cert);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *path = g_build_filename(dir, "tokens", TOKEN_A ".token", NULL);
	GStatBuf st;

	/* the copies are deep and equal */
	assert_token_equal(full, full_copy);
	assert_certificate_equal(cert, cert_copy);

	/* nothing there: an empty store, and no directory made by reading */
	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len, ==, 0);
	g_assert_cmpuint(certs->len, ==, 0);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	g_clear_pointer(&tokens, g_ptr_array_unref);
	g_clear_pointer(&certs, g_ptr_array_unref);

	/* NULL strings, no DER, empty lists, zero times */
	tw_store_put_token(store, full);
	tw_store_put_token(store, empty);
	tw_store_put_certificate(store, cert);
	tw_store_put_certificate(store, bare);
	g_assert_true(tw_store_flush(store, 30000));
	g_assert_true(tw_store_get_healthy(store));
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 4);

	/* private: the directories 0700, the files 0600 */
	g_assert_cmpint(g_stat(dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
	text = read_file(dir, "tokens", TOKEN_A ".token", NULL);
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	/* readable where it can be, exact where it cannot */
	g_assert_nonnull(strstr(text, "model=Česká karta ✓\n"));
	g_assert_nonnull(strstr(text, "label-base64="));
	g_assert_nonnull(strstr(text, "certificates=" CERT_A ";" CERT_B ";\n"));
	g_assert_true(g_str_has_suffix(text, "[store]\nversion=1\n"));

	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len, ==, 2);
	g_assert_cmpuint(certs->len, ==, 2);
	/* in file name order */
	{
		TwStoredToken *loaded = g_ptr_array_index(tokens, 0);

		/* NULL strings come back "" */
		g_assert_cmpstr(loaded->id, ==, TOKEN_B);
		g_assert_cmpstr(loaded->label, ==, "");
		g_assert_cmpstr(loaded->reader, ==, "");
		g_assert_cmpstr(loaded->atr, ==, "");
		g_assert_cmpint(loaded->first_seen, ==, 0);
		g_assert_cmpint(loaded->last_seen, ==, 0);
		g_assert_cmpuint(loaded->flags, ==, 0);
		g_assert_cmpuint(g_strv_length(loaded->certificates), ==, 0);
		g_assert_cmpuint(g_strv_length(loaded->device_warnings), ==, 0);
	}
	assert_token_equal(g_ptr_array_index(tokens, 1), full);
	assert_certificate_equal(g_ptr_array_index(certs, 1), cert);
	{
		TwStoredCertificate *loaded = g_ptr_array_index(certs, 0);

		g_assert_cmpstr(loaded->id, ==, CERT_B);
		g_assert_cmpuint(g_bytes_get_size(loaded->der), ==, 0);
		g_assert_cmpstr(loaded->token, ==, "");
		g_assert_cmpstr(loaded->label, ==, "");
		g_assert_cmpstr(loaded->ckaid, ==, "");
		g_assert_cmpint(loaded->first_seen, ==, 0);
		g_assert_cmpuint(g_strv_length(loaded->warnings), ==, 0);
		g_assert_null(loaded->superseded_by);
	}
}

static void
test_store_debounce(void)
{
	g_autofree gchar *dir = state_dir("debounce");
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(TwStoredToken) token = make_token(TOKEN_A);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;

	/* nothing queued: a flush has nothing to wait for */
	g_assert_true(tw_store_flush(store, 0));

	/* ten changes of one token within the debounce: one write, the last */
	tw_store_set_debounce_ms(store, 300);
	for (guint i = 0; i < 10; i++) {
		g_free(token->serial);
		token->serial = g_strdup_printf("serial %u", i);
		tw_store_put_token(store, token);
	}
	g_assert_cmpuint(tw_store_get_pending(store), ==, 1);
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 0);
	wait_for(store, check_written);
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 1);
	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len, ==, 1);
	assert_token_equal(g_ptr_array_index(tokens, 0), token);

	/* a flush does not wait for the debounce */
	tw_store_set_debounce_ms(store, 60000);
	tw_store_put_token(store, token);
	g_assert_true(tw_store_flush(store, 30000));
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 2);
	g_assert_cmpuint(tw_store_get_pending(store), ==, 0);

	/* and leaves the next change to the debounce */
	tw_store_put_token(store, token);
	g_usleep(50000);
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 2);
	g_assert_true(tw_store_flush(store, 30000));
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 3);
}

static void
test_store_remove(void)
{
	g_autofree gchar *dir = state_dir("remove");
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(TwStoredToken) token = make_token(TOKEN_A);
	g_autoptr(TwStoredCertificate) cert = make_certificate(CERT_A);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;

	tw_store_put_token(store, token);
	tw_store_put_certificate(store, cert);
	g_assert_true(tw_store_flush(store, 30000));
	g_assert_true(exists(dir, "tokens", TOKEN_A ".token"));
	g_assert_true(exists(dir, "certificates", CERT_A ".cert"));

	tw_store_remove_token(store, TOKEN_A);
	tw_store_remove_certificate(store, CERT_A);
	/* never written: nothing to remove, no error */
	tw_store_remove_token(store, TOKEN_B);
	g_assert_true(tw_store_flush(store, 30000));
	g_assert_true(tw_store_get_healthy(store));
	g_assert_false(exists(dir, "tokens", TOKEN_A ".token"));
	g_assert_false(exists(dir, "certificates", CERT_A ".cert"));

	/* a removal queued after a put wins: nothing is written */
	tw_store_put_token(store, token);
	tw_store_remove_token(store, TOKEN_A);
	g_assert_true(tw_store_flush(store, 30000));
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 2);
	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len + certs->len, ==, 0);
}

/* valid files of each kind, as the store writes them */
typedef struct {
	gchar *token;
	gsize token_len;
	gchar *cert;
	gsize cert_len;
} Templates;

static void
templates_make(Templates *t)
{
	g_autofree gchar *dir = state_dir("templates");
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(TwStoredToken) token = make_token(TOKEN_A);
	g_autoptr(TwStoredCertificate) cert = make_certificate(CERT_A);

	tw_store_put_token(store, token);
	tw_store_put_certificate(store, cert);
	g_assert_true(tw_store_flush(store, 30000));
	t->token = read_file(dir, "tokens", TOKEN_A ".token", &t->token_len);
	t->cert = read_file(dir, "certificates", CERT_A ".cert", &t->cert_len);
}

static void
templates_clear(Templates *t)
{
	g_free(t->token);
	g_free(t->cert);
}

/* @name in @subdir, with @data (a directory if NULL), next to a valid token
 * and certificate: moved aside with one warning, the others load */
static void
check_broken(const gchar *case_name,
	     const Templates *t,
	     const gchar *subdir,
	     const gchar *name,
	     const gchar *data,
	     gsize len,
	     const gchar *why)
{
	g_autofree gchar *pattern = g_strdup_printf(
		"broken state file */%s/%s: %s; moved aside to *", subdir, name, why);
	g_autofree gchar *aside = g_strdup_printf("%s.broken-*", name);
	g_autofree gchar *dir = state_dir(case_name);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;

	write_file(dir, "tokens", TOKEN_A ".token", t->token, t->token_len);
	write_file(dir, "certificates", CERT_A ".cert", t->cert, t->cert_len);
	if (data != NULL) {
		write_file(dir, subdir, name, data, len);
	} else {
		g_autofree gchar *path = g_build_filename(dir, subdir, name, NULL);

		g_assert_cmpint(g_mkdir_with_parents(path, 0700), ==, 0);
	}
	g_test_expect_message("TwStore", G_LOG_LEVEL_WARNING, pattern);
	load(dir, &tokens, &certs);
	g_test_assert_expected_messages();
	g_assert_cmpuint(tokens->len, ==, 1);
	g_assert_cmpuint(certs->len, ==, 1);
	g_assert_false(exists(dir, subdir, name));
	g_assert_cmpuint(count_matching(dir, subdir, aside), ==, 1);
}

static void
test_store_truncated(void)
{
	Templates t = {NULL};

	templates_make(&t);
	/* cut anywhere before the last byte: seen, whatever the cut */
	for (gsize cut = 0; cut + 1 < t.token_len; cut += 7) {
		g_autofree gchar *name = g_strdup_printf("token-%zu", cut);

		check_broken(name, &t, "tokens", TOKEN_B ".token", t.token, cut, "*");
	}
	for (gsize cut = 0; cut + 1 < t.cert_len; cut += 7) {
		g_autofree gchar *name = g_strdup_printf("cert-%zu", cut);

		check_broken(name, &t, "certificates", CERT_B ".cert", t.cert, cut, "*");
	}
	/* only the final newline missing: the record is whole */
	{
		g_autofree gchar *dir = state_dir("newline");
		g_autoptr(GPtrArray) tokens = NULL;
		g_autoptr(GPtrArray) certs = NULL;

		write_file(dir, "tokens", TOKEN_B ".token", t.token, t.token_len - 1);
		load(dir, &tokens, &certs);
		g_assert_cmpuint(tokens->len, ==, 1);
	}
	templates_clear(&t);
}

/* @text with @from replaced by @to */
static gchar *
edit(const gchar *text, const gchar *from, const gchar *to)
{
	g_autoptr(GString) s = g_string_new(text);

	g_assert_nonnull(strstr(text, from));
	g_string_replace(s, from, to, 1);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
test_store_broken(void)
{
	Templates t = {NULL};
	guchar noise[512];
	const gchar *bad_names[] = {
		"0123456789ABCDEF.token", "abc.token", "0123456789abcdef0.token",
		"g123456789abcdef.token", ".token",
	};
	struct {
		const gchar *from;
		const gchar *to;
		const gchar *why;
	} token_edits[] = {
		{"serial=0012345678\n", "", "*serial*"},
		{"version=1", "version=2", "version 2 is unknown to this tokenwatch*"},
		{"version=1", "version=-1", "version -1 is unknown*"},
		{"version=1", "version=one", "version: *"},
		{"flags=18446744073709551615", "flags=-1", "flags: *"},
		{"flags=18446744073709551615", "flags=18446744073709551616", "flags: *"},
		{"unpaired-keys=4294967295", "unpaired-keys=4294967296", "unpaired-keys: *"},
		{"first-seen=-9223372036854775808", "first-seen=1e9", "first-seen: *"},
		{"certificates=" CERT_A ";", "certificates=NOT-AN-ID;",
		 "certificates: not a list*"},
		{"label-base64=", "label-base64=!", "label-base64: not base64*"},
		{"[token]", "[tokens]", "*"},
	};
	struct {
		const gchar *from;
		const gchar *to;
		const gchar *why;
	} cert_edits[] = {
		{"der=", "der=*", "der: not base64"},
		{"der=", "der=A", "der: not base64"},
		{"token=" TOKEN_A, "token=someone", "token: not an id"},
		{"ckaid=01ab", "ckaid=01a", "ckaid: not hex"},
		{"superseded-by=" CERT_B, "superseded-by=x", "superseded-by: not an id"},
		{"version=1", "version=2", "version 2 is unknown*"},
		{"warnings=60;30;expired;\n", "", "*warnings*"},
	};
	guint n = 0;

	templates_make(&t);
	for (guint i = 0; i < G_N_ELEMENTS(noise); i++)
		noise[i] = (guchar)g_test_rand_int_range(0, 256);

	/* random bytes, nothing, a directory */
	check_broken("random", &t, "tokens", TOKEN_B ".token", (const gchar *)noise, sizeof(noise),
		     "*");
	check_broken("random-cert", &t, "certificates", CERT_B ".cert", (const gchar *)noise,
		     sizeof(noise), "*");
	check_broken("empty", &t, "tokens", TOKEN_B ".token", "", 0, "*does not have group*store*");
	check_broken("directory", &t, "tokens", TOKEN_B ".token", NULL, 0, "*");
	check_broken("directory-cert", &t, "certificates", CERT_B ".cert", NULL, 0, "*");
	/* not a regular file: a FIFO must not block the load */
	{
		g_autofree gchar *dir = state_dir("fifo");
		g_autofree gchar *path = g_build_filename(dir, "tokens", TOKEN_B ".token", NULL);
		g_autoptr(GPtrArray) tokens = NULL;
		g_autoptr(GPtrArray) certs = NULL;

		write_file(dir, "tokens", TOKEN_A ".token", t.token, t.token_len);
		g_assert_cmpint(mkfifo(path, 0600), ==, 0);
		g_test_expect_message("TwStore", G_LOG_LEVEL_WARNING,
				      "*/" TOKEN_B ".token: not a regular file; moved aside*");
		load(dir, &tokens, &certs);
		g_test_assert_expected_messages();
		g_assert_cmpuint(tokens->len, ==, 1);
	}
	/* too big to be a record: not read */
	{
		g_autofree gchar *big = g_malloc0(9 * 1024 * 1024);

		check_broken("big", &t, "certificates", CERT_B ".cert", big, 9 * 1024 * 1024,
			     "bigger than a record can be");
	}
	/* a name that is not an id, even with good content */
	for (guint i = 0; i < G_N_ELEMENTS(bad_names); i++) {
		g_autofree gchar *name = g_strdup_printf("name-%u", n++);

		check_broken(name, &t, "tokens", bad_names[i], t.token, t.token_len,
			     "the name is not a 16-digit lowercase hex id");
	}
	/* missing keys, bad values, a newer version */
	for (guint i = 0; i < G_N_ELEMENTS(token_edits); i++) {
		g_autofree gchar *name = g_strdup_printf("token-edit-%u", i);
		g_autofree gchar *text = edit(t.token, token_edits[i].from, token_edits[i].to);

		check_broken(name, &t, "tokens", TOKEN_B ".token", text, strlen(text),
			     token_edits[i].why);
	}
	for (guint i = 0; i < G_N_ELEMENTS(cert_edits); i++) {
		g_autofree gchar *name = g_strdup_printf("cert-edit-%u", i);
		g_autofree gchar *text = edit(t.cert, cert_edits[i].from, cert_edits[i].to);

		check_broken(name, &t, "certificates", CERT_B ".cert", text, strlen(text),
			     cert_edits[i].why);
	}
	templates_clear(&t);
}

static void
test_store_layout(void)
{
	g_autofree gchar *dir = state_dir("layout");
	g_autofree gchar *file = state_dir("a-file");
	g_autoptr(TwStore) store = tw_store_new(file);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tokens_path = g_build_filename(dir, "tokens", NULL);

	/* a state directory that is a file cannot be read at all */
	g_assert_true(g_file_set_contents(file, "", 0, NULL));
	g_assert_false(tw_store_load(store, &tokens, &certs, &error));
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR);
	g_assert_nonnull(strstr(error->message, file));
	g_assert_null(tokens);

	/* a file in place of tokens/ goes aside; certificates/ still loads */
	write_file(dir, "", "tokens", "", 0);
	write_file(dir, "certificates", CERT_A ".cert", "", 0);
	g_test_expect_message("TwStore", G_LOG_LEVEL_WARNING, "*/certificates/" CERT_A ".cert:*");
	g_test_expect_message("TwStore", G_LOG_LEVEL_WARNING,
			      "*/tokens: not a directory; moved aside to */tokens.broken-*");
	load(dir, &tokens, &certs);
	g_test_assert_expected_messages();
	g_assert_false(g_file_test(tokens_path, G_FILE_TEST_EXISTS));

	/* what is not a record stays and is ignored */
	g_clear_pointer(&tokens, g_ptr_array_unref);
	g_clear_pointer(&certs, g_ptr_array_unref);
	write_file(dir, "tokens", "README", "hello", 5);
	write_file(dir, "tokens", TOKEN_A ".token~", "", 0);
	write_file(dir, "tokens", TOKEN_A ".cert", "", 0);
	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len + certs->len, ==, 0);
	g_assert_true(exists(dir, "tokens", "README"));
	g_assert_true(exists(dir, "tokens", TOKEN_A ".token~"));

	/* unreadable: only when permissions apply */
	if (geteuid() != 0) {
		g_autoptr(TwStore) closed = tw_store_new(dir);

		g_clear_pointer(&tokens, g_ptr_array_unref);
		g_clear_pointer(&certs, g_ptr_array_unref);
		g_clear_error(&error);
		g_assert_cmpint(g_chmod(dir, 0), ==, 0);
		g_assert_false(tw_store_load(closed, &tokens, &certs, &error));
		g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_ACCES);
		g_assert_cmpint(g_chmod(dir, 0700), ==, 0);
	}
}

static void
test_store_temporary(void)
{
	g_autofree gchar *dir = state_dir("temporary");
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	Templates t = {NULL};

	/* what an interrupted g_file_set_contents_full() leaves goes at load */
	templates_make(&t);
	write_file(dir, "tokens", TOKEN_A ".token", t.token, t.token_len);
	write_file(dir, "tokens", TOKEN_A ".token.Ab12Z9", t.token, 10);
	write_file(dir, "certificates", CERT_A ".cert.XXXXXX", "", 0);
	/* not of that shape: left alone */
	write_file(dir, "tokens", TOKEN_A ".token.Ab12Z", "", 0);
	write_file(dir, "tokens", TOKEN_A ".token.broken-1700000000", "", 0);
	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len, ==, 1);
	g_assert_false(exists(dir, "tokens", TOKEN_A ".token.Ab12Z9"));
	g_assert_false(exists(dir, "certificates", CERT_A ".cert.XXXXXX"));
	g_assert_true(exists(dir, "tokens", TOKEN_A ".token.Ab12Z"));
	g_assert_true(exists(dir, "tokens", TOKEN_A ".token.broken-1700000000"));
	templates_clear(&t);
}

/* Version 0 (made up for this test; never released): tokens had no atr and
 * no device-warnings, certificates had the DER in hex, [store] came first. */
static void
test_store_migration(void)
{
	g_autofree gchar *dir = state_dir("migration");
	g_autoptr(GBytes) der = make_der(3, 1200);
	g_autoptr(GString) hex = g_string_new(NULL);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autofree gchar *token_v0 = NULL;
	g_autofree gchar *cert_v0 = NULL;
	g_autofree gchar *token_v1 = NULL;
	g_autofree gchar *cert_v1 = NULL;
	g_autofree gchar *der_b64 = NULL;
	const gchar *bad_v0 = "[store]\nversion=0\n[certificate]\nder=0g\n";
	TwStoredToken *token;
	TwStoredCertificate *cert;
	gsize size = 0;
	const guchar *bytes = g_bytes_get_data(der, &size);

	for (gsize i = 0; i < size; i++)
		g_string_append_printf(hex, "%02X", bytes[i]);
	token_v0 = g_strdup("[store]\nversion=0\n\n[token]\nlabel=Old card\nmanufacturer=ACME\n"
			    "model=PIV\nserial=1234\nmodule=/usr/lib/opensc-pkcs11.so\n"
			    "reader=Reader 0\nfirst-seen=1600000000\nlast-seen=1600000100\n"
			    "flags=1037\ntotal-memory=0\nfree-memory=0\nunpaired-keys=2\n"
			    "certificates=" CERT_A ";\n");
	cert_v0 = g_strdup_printf("[store]\nversion=0\n\n[certificate]\nder=%s\ntoken=" TOKEN_A
				  "\nlabel=Old cert\nckaid=01ab\nfirst-seen=1600000000\n"
				  "last-seen=1600000100\nwarnings=60;\n",
				  hex->str);
	write_file(dir, "tokens", TOKEN_A ".token", token_v0, strlen(token_v0));
	write_file(dir, "certificates", CERT_A ".cert", cert_v0, strlen(cert_v0));
	/* a version-0 file its migration refuses is broken like any other */
	write_file(dir, "certificates", CERT_B ".cert", bad_v0, strlen(bad_v0));

	g_test_expect_message("TwStore", G_LOG_LEVEL_WARNING,
			      "*" CERT_B ".cert: migrating from version 0: der: not hex; moved*");
	load(dir, &tokens, &certs);
	g_test_assert_expected_messages();
	g_assert_cmpuint(tokens->len, ==, 1);
	g_assert_cmpuint(certs->len, ==, 1);
	token = g_ptr_array_index(tokens, 0);
	g_assert_cmpstr(token->label, ==, "Old card");
	g_assert_cmpuint(token->flags, ==, 1037);
	g_assert_cmpuint(token->unpaired_keys, ==, 2);
	g_assert_cmpstr(token->certificates[0], ==, CERT_A);
	g_assert_cmpuint(g_strv_length(token->device_warnings), ==, 0);
	g_assert_cmpstr(token->atr, ==, "");
	cert = g_ptr_array_index(certs, 0);
	g_assert_true(g_bytes_equal(cert->der, der));
	g_assert_cmpstr(cert->warnings[0], ==, "60");

	/* written again as version 1 */
	token_v1 = read_file(dir, "tokens", TOKEN_A ".token", NULL);
	cert_v1 = read_file(dir, "certificates", CERT_A ".cert", NULL);
	der_b64 = g_base64_encode(bytes, size);
	g_assert_true(g_str_has_suffix(token_v1, "[store]\nversion=1\n"));
	g_assert_nonnull(strstr(token_v1, "device-warnings=\n"));
	g_assert_nonnull(strstr(token_v1, "atr=\n"));
	g_assert_true(g_str_has_suffix(cert_v1, "[store]\nversion=1\n"));
	g_assert_nonnull(strstr(cert_v1, der_b64));

	/* and read as such */
	g_clear_pointer(&tokens, g_ptr_array_unref);
	g_clear_pointer(&certs, g_ptr_array_unref);
	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len, ==, 1);
	g_assert_true(
		g_bytes_equal(((TwStoredCertificate *)g_ptr_array_index(certs, 0))->der, der));
}

static void
test_store_unwritable(void)
{
	g_autofree gchar *dir = state_dir("unwritable");
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(TwStoredToken) token = make_token(TOKEN_A);
	g_autoptr(TwStoredToken) other = make_token(TOKEN_B);
	g_autoptr(TwStoredCertificate) cert = make_certificate(CERT_A);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	gint64 start;

	/* root ignores permissions: a file where the directory should be */
	g_assert_true(g_file_set_contents(dir, "not a directory", -1, NULL));
	tw_store_set_debounce_ms(store, 0);
	tw_store_set_backoff_ms(store, 20, 80);
	g_test_expect_message("TwStore", G_LOG_LEVEL_WARNING,
			      "cannot write the state: cannot create the directory */unwritable/*: "
			      "Not a directory; keeping the changes and retrying");
	tw_store_put_token(store, token);
	tw_store_put_token(store, other);
	tw_store_put_certificate(store, cert);
	wait_for(store, check_unhealthy);
	/* several rounds of retries: still one warning */
	g_usleep(400000);
	g_test_assert_expected_messages();
	g_assert_false(tw_store_get_healthy(store));
	g_assert_cmpuint(tw_store_get_pending(store), ==, 3);
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 0);

	/* the latest content wins while it waits too */
	g_free(token->label);
	token->label = g_strdup("newer");
	tw_store_put_token(store, token);
	g_assert_cmpuint(tw_store_get_pending(store), ==, 3);

	/* a flush tries once more, now, and says it failed */
	start = g_get_monotonic_time();
	g_assert_false(tw_store_flush(store, 20000));
	g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
	g_assert_cmpuint(tw_store_get_pending(store), ==, 3);

	/* the directory can be made again: the retry writes everything */
	g_test_expect_message("TwStore", G_LOG_LEVEL_MESSAGE,
			      "state written again to */unwritable");
	g_assert_cmpint(g_unlink(dir), ==, 0);
	g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
	wait_for(store, check_written);
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 3);

	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len, ==, 2);
	assert_token_equal(g_ptr_array_index(tokens, 0), other);
	assert_token_equal(g_ptr_array_index(tokens, 1), token);
	assert_certificate_equal(g_ptr_array_index(certs, 0), cert);
}

/* as root: a mount namespace of our own, where a tmpfs can be mounted */
static gboolean
can_unshare_mounts(void)
{
	gint status = 0;
	pid_t pid;

	if (geteuid() != 0)
		return FALSE;
	pid = fork();
	if (pid == 0) {
		/* nothing but system calls in the child of a threaded process */
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
			_exit(1);
		_exit(0);
	}
	g_assert_cmpint(pid, >, 0);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* in a subprocess: its own mount namespace, a 64 KiB tmpfs */
static void
full_disk_subprocess(void)
{
	g_autofree gchar *mnt = state_dir("full");
	g_autofree gchar *dir = g_build_filename(mnt, "state", NULL);
	g_autofree gchar *filler = g_build_filename(mnt, "filler", NULL);
	g_autoptr(TwStore) store = tw_store_new(dir);
	g_autoptr(TwStoredToken) token = make_token(TOKEN_A);
	g_autoptr(TwStoredToken) other = make_token(TOKEN_B);
	g_autoptr(TwStoredCertificate) cert = make_certificate(CERT_A);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	gchar block[4096] = {0};
	gint fd;

	g_assert_cmpint(unshare(CLONE_NEWNS), ==, 0);
	g_assert_cmpint(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(mnt, 0700), ==, 0);
	g_assert_cmpint(mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700"),
			==, 0);

	tw_store_set_debounce_ms(store, 0);
	tw_store_set_backoff_ms(store, 20, 80);
	tw_store_put_token(store, token);
	g_assert_true(tw_store_flush(store, 30000));

	/* full */
	fd = g_open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	while (write(fd, block, sizeof(block)) == sizeof(block))
		;
	g_assert_cmpint(errno, ==, ENOSPC);
	close(fd);

	g_test_expect_message("TwStore", G_LOG_LEVEL_WARNING,
			      "cannot write the state: *No space left on device; keeping the "
			      "changes and retrying");
	tw_store_put_token(store, other);
	tw_store_put_certificate(store, cert);
	wait_for(store, check_unhealthy);
	g_usleep(300000);
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_store_get_pending(store), ==, 2);
	g_assert_cmpuint(tw_store_get_write_count(store), ==, 1);
	/* no half-written file, no temporary file left behind */
	g_assert_cmpuint(count_matching(dir, "tokens", "*"), ==, 1);
	g_assert_cmpuint(count_matching(dir, "certificates", "*"), ==, 0);

	/* space again */
	g_test_expect_message("TwStore", G_LOG_LEVEL_MESSAGE, "state written again*");
	g_assert_cmpint(g_unlink(filler), ==, 0);
	wait_for(store, check_written);
	g_test_assert_expected_messages();
	load(dir, &tokens, &certs);
	g_assert_cmpuint(tokens->len, ==, 2);
	g_assert_cmpuint(certs->len, ==, 1);
	assert_certificate_equal(g_ptr_array_index(certs, 0), cert);

	g_clear_object(&store);
	g_assert_cmpint(umount2(mnt, MNT_DETACH), ==, 0);
}

static void
test_store_full_disk(void)
{
	if (g_test_subprocess()) {
		full_disk_subprocess();
		return;
	}
	if (!can_unshare_mounts()) {
		g_test_skip("needs root and a mount namespace for a small tmpfs");
		return;
	}
	g_test_trap_subprocess(NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_test_trap_assert_passed();
}

/* /store/sigkill: records whose every field comes from one generation
 * number, so that a record mixed from two writes would show */
#define WRITER_TOKENS 20
#define WRITER_CERTS  3 /* per token */

static gchar *
writer_id(guint n)
{
	return g_strdup_printf("%016x", n);
}

static TwStoredToken *
writer_token(guint n, guint64 gen)
{
	g_autofree gchar *id = writer_id(n);
	TwStoredToken *token = tw_stored_token_new(id);

	token->label = g_strdup_printf("gen %" G_GUINT64_FORMAT, gen);
	token->manufacturer = g_strdup_printf("manufacturer %" G_GUINT64_FORMAT, gen);
	token->model = g_strdup_printf("model %" G_GUINT64_FORMAT, gen);
	token->serial = g_strdup_printf("%u", n);
	token->module = g_strdup_printf("module %" G_GUINT64_FORMAT, gen);
	token->reader = g_strdup_printf("reader %" G_GUINT64_FORMAT, gen);
	token->atr = g_strdup_printf("3b%" G_GINT64_MODIFIER "x", gen);
	token->first_seen = (gint64)gen;
	token->last_seen = (gint64)gen + 1;
	token->flags = gen * 3;
	token->total_memory = gen * 5;
	token->free_memory = gen;
	token->unpaired_keys = (guint)(gen % 7);
	g_strfreev(token->certificates);
	token->certificates = g_new0(gchar *, WRITER_CERTS + 1);
	for (guint k = 0; k < WRITER_CERTS; k++)
		token->certificates[k] = writer_id(0x1000 + n * WRITER_CERTS + k);
	if (gen % 2 == 1) {
		g_strfreev(token->device_warnings);
		token->device_warnings = g_strsplit("180,90", ",", -1);
	}
	return token;
}

static TwStoredCertificate *
writer_certificate(guint n, guint64 gen)
{
	g_autofree gchar *id = writer_id(0x1000 + n);
	TwStoredCertificate *cert = tw_stored_certificate_new(id);

	cert->der = make_der((guint)gen, 1000 + gen % 300);
	cert->token = writer_id(n / WRITER_CERTS);
	cert->label = g_strdup_printf("gen %" G_GUINT64_FORMAT, gen);
	cert->ckaid = g_strdup_printf("%08x", (guint)gen);
	cert->first_seen = (gint64)gen;
	cert->last_seen = (gint64)gen + 1;
	if (gen % 3 == 0) {
		g_strfreev(cert->warnings);
		cert->warnings = g_strsplit("60,30", ",", -1);
	}
	if (gen % 2 == 0)
		cert->superseded_by = writer_id(0x1000 + (n + 1) % (WRITER_TOKENS * WRITER_CERTS));
	return cert;
}

static guint64
writer_gen(const gchar *label)
{
	guint64 gen = 0;

	g_assert_true(g_str_has_prefix(label, "gen "));
	g_assert_true(g_ascii_string_to_unsigned(label + 4, 10, 1, G_MAXUINT64, &gen, NULL));
	return gen;
}

/* the child: writes, removes and rewrites until killed */
static int
run_sigkill_writer(const gchar *dir)
{
	g_autoptr(TwStore) store = tw_store_new(dir);

	tw_store_set_debounce_ms(store, 1);
	for (guint64 gen = 1;; gen++) {
		guint n = (guint)g_random_int_range(0, WRITER_TOKENS);
		g_autoptr(TwStoredToken) token = writer_token(n, gen);

		tw_store_put_token(store, token);
		for (guint k = 0; k < WRITER_CERTS; k++) {
			g_autoptr(TwStoredCertificate) cert =
				writer_certificate(n * WRITER_CERTS + k, gen);

			tw_store_put_certificate(store, cert);
		}
		if (gen % 5 == 0) {
			g_autofree gchar *id =
				writer_id(0x1000 + (guint)g_random_int_range(
							   0, WRITER_TOKENS * WRITER_CERTS));

			tw_store_remove_certificate(store, id);
		}
		if (gen % 11 == 0) {
			g_autofree gchar *id =
				writer_id((guint)g_random_int_range(0, WRITER_TOKENS));

			tw_store_remove_token(store, id);
		}
		if (gen == 1) {
			g_assert_true(tw_store_flush(store, 30000));
			g_assert_cmpint(write(STDOUT_FILENO, "ready\n", 6), ==, 6);
		}
		g_usleep(100);
	}
	return 0;
}

static guint
count_temporary(const gchar *dir)
{
	return count_matching(dir, "tokens", "*.token.??????") +
	       count_matching(dir, "certificates", "*.cert.??????");
}

static void
test_store_sigkill(void)
{
	g_autofree gchar *dir = state_dir("sigkill");
	g_autofree gchar *self_exe = g_file_read_link("/proc/self/exe", NULL);
	guint temporary_total = 0;
	guint temporary_max = 0;
	guint records = 0;

	g_assert_nonnull(self_exe);
	for (guint round = 0; round < 50; round++) {
		const gchar *argv[] = {self_exe, "--sigkill-writer", dir, NULL};
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) tokens = NULL;
		g_autoptr(GPtrArray) certs = NULL;
		gchar ready[6];
		gsize got = 0;
		gint out = -1;
		gint status = 0;
		GPid pid;
		guint temporary;

		g_assert_true(g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL,
						       G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
						       NULL, &out, NULL, &error));
		g_assert_no_error(error);
		while (got < sizeof(ready)) {
			gssize r = read(out, ready + got, sizeof(ready) - got);

			g_assert_cmpint(r, >, 0);
			got += (gsize)r;
		}
		close(out);
		/* a random moment, while it writes */
		g_usleep((gulong)g_test_rand_int_range(0, 50000));
		g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
		g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
		g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		g_spawn_close_pid(pid);

		temporary = count_temporary(dir);
		temporary_total += temporary;
		temporary_max = MAX(temporary_max, temporary);
		/* a warning would fail the test: no record is broken */
		load(dir, &tokens, &certs);
		g_assert_cmpuint(tokens->len, >, 0);
		g_assert_cmpuint(count_matching(dir, "tokens", "*broken*"), ==, 0);
		g_assert_cmpuint(count_matching(dir, "certificates", "*broken*"), ==, 0);
		g_assert_cmpuint(count_temporary(dir), ==, 0);
		/* and each is whole: every field from one write */
		for (guint i = 0; i < tokens->len; i++) {
			TwStoredToken *token = g_ptr_array_index(tokens, i);
			guint64 n = g_ascii_strtoull(token->id, NULL, 16);
			g_autoptr(TwStoredToken) expected =
				writer_token((guint)n, writer_gen(token->label));

			assert_token_equal(token, expected);
		}
		for (guint i = 0; i < certs->len; i++) {
			TwStoredCertificate *cert = g_ptr_array_index(certs, i);
			guint64 n = g_ascii_strtoull(cert->id, NULL, 16) - 0x1000;
			g_autoptr(TwStoredCertificate) expected =
				writer_certificate((guint)n, writer_gen(cert->label));

			assert_certificate_equal(cert, expected);
		}
		records += tokens->len + certs->len;
	}
	/* one worker, one file at a time: at most one left per kill */
	g_assert_cmpuint(temporary_max, <=, 1);
	g_test_message("50 kills: %u records checked; GLib left %u temporary files "
		       "(at most %u at once), all removed by the next load",
		       records, temporary_total, temporary_max);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && g_strcmp0(argv[1], "--sigkill-writer") == 0)
		return run_sigkill_writer(argv[2]);

	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
	g_test_add_func("/store/default-directory", test_store_default_directory);
	g_test_add_func("/store/round-trip", test_store_round_trip);
	g_test_add_func("/store/debounce", test_store_debounce);
	g_test_add_func("/store/remove", test_store_remove);
	g_test_add_func("/store/broken/truncated", test_store_truncated);
	g_test_add_func("/store/broken/files", test_store_broken);
	g_test_add_func("/store/broken/layout", test_store_layout);
	g_test_add_func("/store/temporary-files", test_store_temporary);
	g_test_add_func("/store/migration", test_store_migration);
	g_test_add_func("/store/unwritable", test_store_unwritable);
	g_test_add_func("/store/full-disk", test_store_full_disk);
	g_test_add_func("/store/sigkill", test_store_sigkill);
	return g_test_run();
}
