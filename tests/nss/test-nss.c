/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * agent/nss against real NSS databases in a temporary $HOME, checked with
 * NSS's own certutil and modutil.
 */
#include "tw-nss.h"

#include <glib/gstdio.h>
#include <nss.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TW_TEST_MODULE	    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
#define TW_TEST_USER_MODULE "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
#define TW_TEST_MODULE_NAME "tokenwatch: OpenSC"
#define TW_TEST_NICK_1	    "Test Token - Qualified Holder"
#define TW_TEST_NICK_2	    "Test Token - Commercial Holder"

typedef struct {
	gchar *home;
	gchar *record_path;
	gchar *shared;
	gchar *firefox;
	gchar *thunderbird;
	TwNssRegistration reg;
} Fixture;

static gchar *
run(const gchar *const *argv, gint *status)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err = NULL;
	gchar *out = NULL;
	gint st = 0;

	g_assert_true(g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   &out, &err, &st, &error));
	g_assert_no_error(error);
	if (status != NULL)
		*status = st;
	else if (!g_spawn_check_wait_status(st, NULL))
		g_error("%s failed: %s%s", argv[0], out, err);
	return out;
}

/* runs @argv, which must succeed; its output is not needed */
static void
run_ok(const gchar *const *argv)
{
	g_free(run(argv, NULL));
}

static void
make_db(const gchar *dir)
{
	g_autofree gchar *sql = g_strdup_printf("sql:%s", dir);
	const gchar *argv[] = {"certutil", "-N", "-d", sql, "--empty-password", NULL};
	g_autofree gchar *out = NULL;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	out = run(argv, NULL);
}

static gchar *
list_certs(const gchar *dir)
{
	g_autofree gchar *sql = g_strdup_printf("sql:%s", dir);
	const gchar *argv[] = {"certutil", "-L", "-d", sql, NULL};
	return run(argv, NULL);
}

static gchar *
list_modules(const gchar *dir)
{
	g_autofree gchar *sql = g_strdup_printf("sql:%s", dir);
	const gchar *argv[] = {"modutil", "-dbdir", sql, "-list", NULL};
	return run(argv, NULL);
}

/* a line of certutil -L for nickname, with no trust flags */
static gboolean
has_cert(const gchar *listing, const gchar *nickname)
{
	g_auto(GStrv) lines = g_strsplit(listing, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		g_autofree gchar *line = g_strstrip(g_strdup(lines[i]));
		g_autofree gchar *want = g_strdup_printf("%s ", nickname);
		if (g_str_has_prefix(line, want) && g_str_has_suffix(line, " ,,"))
			return TRUE;
	}
	return FALSE;
}

static GBytes *
load_fixture(const gchar *name)
{
	const gchar *dir = g_getenv("TW_CERT_FIXTURES");
	g_autofree gchar *fn = NULL;
	g_autoptr(GError) error = NULL;
	gchar *data = NULL;
	gsize len = 0;

	g_assert_nonnull(dir);
	fn = g_build_filename(dir, name, NULL);
	g_assert_true(g_file_get_contents(fn, &data, &len, &error));
	g_assert_no_error(error);
	return g_bytes_new_take(data, len);
}

static gchar *
fixture_path(const gchar *name)
{
	return g_build_filename(g_getenv("TW_CERT_FIXTURES"), name, NULL);
}

static void
write_file(const gchar *fn, const gchar *contents)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_path_get_dirname(fn);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(fn, contents, -1, &error));
	g_assert_no_error(error);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *ini = NULL;

	f->home = g_dir_make_tmp("tw-nss-XXXXXX", &error);
	g_assert_no_error(error);
	f->record_path = g_build_filename(f->home, ".local/state/tokenwatch/nss.record", NULL);
	f->shared = g_build_filename(f->home, ".pki", "nssdb", NULL);
	f->firefox = g_build_filename(f->home, ".mozilla/firefox/abcd.default", NULL);
	f->thunderbird = g_build_filename(f->home, ".thunderbird/wxyz.default", NULL);
	make_db(f->firefox);
	make_db(f->thunderbird);
	ini = g_build_filename(f->home, ".mozilla/firefox/profiles.ini", NULL);
	write_file(ini, "[General]\nStartWithLastProfile=1\n\n"
			"[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\nDefault=1\n");
	/* a profile without a database is not one */
	g_free(ini);
	ini = g_build_filename(f->home, ".thunderbird/empty.default/prefs.js", NULL);
	write_file(ini, "");

	f->reg.module_name = g_strdup(TW_TEST_MODULE_NAME);
	f->reg.module_path = g_strdup(TW_TEST_MODULE);
	f->reg.certs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	f->reg.nicknames = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(f->reg.certs, load_fixture("qualified-esign-qscd.der"));
	g_ptr_array_add(f->reg.nicknames, g_strdup(TW_TEST_NICK_1));
	g_ptr_array_add(f->reg.certs, load_fixture("personal-ncp-plus.der"));
	g_ptr_array_add(f->reg.nicknames, g_strdup(TW_TEST_NICK_2));
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"rm", "-rf", f->home, NULL};

	run_ok(argv);
	g_free(f->reg.module_name);
	g_free(f->reg.module_path);
	g_ptr_array_unref(f->reg.certs);
	g_ptr_array_unref(f->reg.nicknames);
	g_free(f->home);
	g_free(f->record_path);
	g_free(f->shared);
	g_free(f->firefox);
	g_free(f->thunderbird);
}

static GPtrArray *
find_all(Fixture *f)
{
	GPtrArray *dbs = tw_nss_find_databases(f->home);
	g_assert_cmpuint(dbs->len, ==, 3);
	return dbs;
}

static void
test_find_databases(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) dbs = tw_nss_find_databases(f->home);
	g_autofree gchar *cert9 = g_build_filename(f->shared, "cert9.db", NULL);
	g_autofree gchar *listing = NULL;

	g_assert_cmpuint(dbs->len, ==, 3);
	g_assert_cmpstr(g_ptr_array_index(dbs, 0), ==, f->shared);
	g_assert_cmpstr(g_ptr_array_index(dbs, 1), ==, f->firefox);
	g_assert_cmpstr(g_ptr_array_index(dbs, 2), ==, f->thunderbird);
	/* the shared database was made, with an empty password */
	g_assert_true(g_file_test(cert9, G_FILE_TEST_IS_REGULAR));
	listing = list_certs(f->shared);
}

static void
assert_registered(const gchar *db, gboolean module, gboolean cert1, gboolean cert2)
{
	g_autofree gchar *mods = list_modules(db);
	g_autofree gchar *certs = list_certs(db);

	g_assert_cmpint(strstr(mods, TW_TEST_MODULE_NAME) != NULL, ==, module);
	g_assert_cmpint(strstr(mods, TW_TEST_MODULE) != NULL, ==, module);
	g_assert_cmpint(has_cert(certs, TW_TEST_NICK_1), ==, cert1);
	g_assert_cmpint(has_cert(certs, TW_TEST_NICK_2), ==, cert2);
}

static void
test_register(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) dbs = find_all(f);
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);

	g_assert_no_error(error);
	for (guint round = 0; round < 2; round++) {
		for (guint i = 0; i < dbs->len; i++) {
			const gchar *db = g_ptr_array_index(dbs, i);
			g_auto(GStrv) mods = NULL;
			g_auto(GStrv) certs = NULL;

			g_assert_true(tw_nss_register(db, &f->reg, record, &error));
			g_assert_no_error(error);
			assert_registered(db, TRUE, TRUE, TRUE);
			/* a second round adds nothing twice */
			mods = tw_nss_record_get_modules(record, db);
			certs = tw_nss_record_get_certificates(record, db);
			g_assert_cmpuint(g_strv_length(mods), ==, 1);
			g_assert_cmpuint(g_strv_length(certs), ==, 2);
		}
	}
	g_assert_true(tw_nss_record_save(record, &error));
	g_assert_no_error(error);

	/* the record as saved */
	{
		g_autoptr(TwNssRecord) again = tw_nss_record_load(f->record_path, &error);
		g_auto(GStrv) certs = NULL;
		g_autofree gchar *sha = tw_nss_sha256_hex(g_ptr_array_index(f->reg.certs, 0));

		g_assert_no_error(error);
		certs = tw_nss_record_get_certificates(again, f->firefox);
		g_assert_cmpuint(g_strv_length(certs), ==, 2);
		g_assert_cmpstr(certs[0], ==, sha);
	}
}

static void
test_unregister_all(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) dbs = find_all(f);
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_autofree gchar *user_der = fixture_path("personal-lcp-cn-only.der");

	g_assert_no_error(error);
	for (guint i = 0; i < dbs->len; i++) {
		const gchar *db = g_ptr_array_index(dbs, i);
		g_autofree gchar *sql = g_strdup_printf("sql:%s", db);
		const gchar *add_mod[] = {
			"modutil",	     "-dbdir", sql, "-add", "User Module", "-libfile",
			TW_TEST_USER_MODULE, "-force", NULL};
		const gchar *add_cert[] = {"certutil", "-A", "-d", sql,	     "-n", "User Cert",
					   "-t",       ",,", "-i", user_der, NULL};
		g_autofree gchar *mods = NULL;
		g_autofree gchar *certs = NULL;
		g_auto(GStrv) left = NULL;

		run_ok(add_mod);
		run_ok(add_cert);
		g_assert_true(tw_nss_register(db, &f->reg, record, &error));
		g_assert_no_error(error);
		assert_registered(db, TRUE, TRUE, TRUE);
		g_assert_true(tw_nss_unregister_all(db, record, &error));
		g_assert_no_error(error);
		assert_registered(db, FALSE, FALSE, FALSE);
		/* what the user added stays */
		mods = list_modules(db);
		certs = list_certs(db);
		g_assert_nonnull(strstr(mods, "User Module"));
		g_assert_nonnull(strstr(mods, TW_TEST_USER_MODULE));
		g_assert_true(has_cert(certs, "User Cert"));
		left = tw_nss_record_get_certificates(record, db);
		g_assert_cmpuint(g_strv_length(left), ==, 0);
		g_strfreev(left);
		left = tw_nss_record_get_modules(record, db);
		g_assert_cmpuint(g_strv_length(left), ==, 0);
	}
}

/* a user's own copy of our certificate or module is never ours to remove */
static void
test_user_owned(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_autofree gchar *sql = g_strdup_printf("sql:%s", f->firefox);
	g_autofree gchar *der = fixture_path("qualified-esign-qscd.der");
	const gchar *add_mod[] = {"modutil",  "-dbdir",	      sql,	"-add", "OpenSC",
				  "-libfile", TW_TEST_MODULE, "-force", NULL};
	const gchar *add_cert[] = {"certutil", "-A", "-d", sql, "-n", "Mine",
				   "-t",       ",,", "-i", der, NULL};
	g_autofree gchar *mods = NULL;
	g_autofree gchar *certs = NULL;
	g_auto(GStrv) rec_mods = NULL;
	g_auto(GStrv) rec_certs = NULL;

	run_ok(add_mod);
	run_ok(add_cert);
	g_assert_true(tw_nss_register(f->firefox, &f->reg, record, &error));
	g_assert_no_error(error);
	rec_mods = tw_nss_record_get_modules(record, f->firefox);
	rec_certs = tw_nss_record_get_certificates(record, f->firefox);
	g_assert_cmpuint(g_strv_length(rec_mods), ==, 0);
	g_assert_cmpuint(g_strv_length(rec_certs), ==, 1);
	g_assert_true(tw_nss_unregister_all(f->firefox, record, &error));
	g_assert_no_error(error);
	mods = list_modules(f->firefox);
	certs = list_certs(f->firefox);
	g_assert_nonnull(strstr(mods, "OpenSC"));
	g_assert_null(strstr(mods, TW_TEST_MODULE_NAME));
	g_assert_true(has_cert(certs, "Mine"));
	g_assert_false(has_cert(certs, TW_TEST_NICK_2));
}

static void
test_removed_by_user(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_autofree gchar *sql = g_strdup_printf("sql:%s", f->thunderbird);
	const gchar *del_mod[] = {"modutil",	       "-dbdir", sql, "-delete",
				  TW_TEST_MODULE_NAME, "-force", NULL};
	const gchar *del_cert[] = {"certutil", "-D", "-d", sql, "-n", TW_TEST_NICK_1, NULL};
	g_autofree gchar *out1 = NULL;
	g_autofree gchar *out2 = NULL;
	g_auto(GStrv) removed_mods = NULL;
	g_auto(GStrv) removed_certs = NULL;
	g_autofree gchar *sha = tw_nss_sha256_hex(g_ptr_array_index(f->reg.certs, 0));

	g_assert_true(tw_nss_register(f->thunderbird, &f->reg, record, &error));
	g_assert_no_error(error);
	out1 = run(del_mod, NULL);
	out2 = run(del_cert, NULL);
	assert_registered(f->thunderbird, FALSE, FALSE, TRUE);

	/* twice, and through a saved record */
	for (guint i = 0; i < 2; i++) {
		g_assert_true(tw_nss_register(f->thunderbird, &f->reg, record, &error));
		g_assert_no_error(error);
		assert_registered(f->thunderbird, FALSE, FALSE, TRUE);
		g_assert_true(tw_nss_record_save(record, &error));
		g_assert_no_error(error);
		g_clear_pointer(&record, tw_nss_record_free);
		record = tw_nss_record_load(f->record_path, &error);
		g_assert_no_error(error);
	}
	removed_mods = tw_nss_record_get_removed_modules(record, f->thunderbird);
	removed_certs = tw_nss_record_get_removed_certificates(record, f->thunderbird);
	g_assert_cmpuint(g_strv_length(removed_mods), ==, 1);
	g_assert_cmpstr(removed_mods[0], ==, TW_TEST_MODULE_NAME);
	g_assert_cmpuint(g_strv_length(removed_certs), ==, 1);
	g_assert_cmpstr(removed_certs[0], ==, sha);
}

static void
test_remove_certificates(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_autofree gchar *sha = tw_nss_sha256_hex(g_ptr_array_index(f->reg.certs, 0));
	const gchar *shas[] = {sha, NULL};
	g_auto(GStrv) left = NULL;

	g_assert_true(tw_nss_register(f->firefox, &f->reg, record, &error));
	g_assert_no_error(error);
	g_assert_true(tw_nss_remove_certificates(f->firefox, record, shas, &error));
	g_assert_no_error(error);
	assert_registered(f->firefox, TRUE, FALSE, TRUE);
	left = tw_nss_record_get_certificates(record, f->firefox);
	g_assert_cmpuint(g_strv_length(left), ==, 1);
	g_assert_cmpstr(left[0], !=, sha);
	g_strfreev(left);
	/* not "removed by the user": a later register may add it again */
	left = tw_nss_record_get_removed_certificates(record, f->firefox);
	g_assert_cmpuint(g_strv_length(left), ==, 0);
}

/* NSS 3.87 cannot store a certificate with an Ed448 key: skipped, the
 * others registered */
static void
test_unsupported_cert(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_auto(GStrv) certs = NULL;

	g_ptr_array_insert(f->reg.certs, 0, load_fixture("other-plain.der"));
	g_ptr_array_insert(f->reg.nicknames, 0, g_strdup("Test Token - server.example"));
	g_test_expect_message("TwNss", G_LOG_LEVEL_WARNING, "*SEC_ERROR_ADDING_CERT*");
	g_assert_true(tw_nss_register(f->firefox, &f->reg, record, &error));
	g_assert_no_error(error);
	g_test_assert_expected_messages();
	assert_registered(f->firefox, TRUE, TRUE, TRUE);
	certs = tw_nss_record_get_certificates(record, f->firefox);
	g_assert_cmpuint(g_strv_length(certs), ==, 2);
}

/* a helper process that holds a lock until its stdin closes */
static GPid
hold_lock(const gchar *script, const gchar *path, gint *stdin_fd)
{
	const gchar *argv[] = {"/usr/bin/python3", "-c", script, path, NULL};
	g_autoptr(GError) error = NULL;
	gchar buf[16] = {0};
	gint out_fd = -1;
	GPid pid = 0;

	g_assert_true(g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL,
					       G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
					       stdin_fd, &out_fd, NULL, &error));
	g_assert_no_error(error);
	while (strchr(buf, '\n') == NULL) {
		gsize len = strlen(buf);
		g_assert_cmpuint(len, <, sizeof(buf) - 1);
		g_assert_cmpint(read(out_fd, buf + len, sizeof(buf) - 1 - len), >, 0);
	}
	g_assert_cmpstr(buf, ==, "locked\n");
	close(out_fd);
	return pid;
}

static void
release_lock(GPid pid, gint stdin_fd)
{
	gint status = 0;

	close(stdin_fd);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_spawn_close_pid(pid);
}

static void
assert_busy(Fixture *f, TwNssRecord *record, const gchar *db)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(tw_nss_register(db, &f->reg, record, &error));
	g_assert_error(error, TW_NSS_ERROR, TW_NSS_ERROR_BUSY);
	g_clear_error(&error);
	g_assert_false(tw_nss_unregister_all(db, record, &error));
	g_assert_error(error, TW_NSS_ERROR, TW_NSS_ERROR_BUSY);
}

/* the record says exactly what is in the database */
static void
assert_record_true(TwNssRecord *record, const gchar *db)
{
	g_auto(GStrv) certs = tw_nss_record_get_certificates(record, db);
	g_auto(GStrv) mods = tw_nss_record_get_modules(record, db);
	g_auto(GStrv) removed = tw_nss_record_get_removed_certificates(record, db);
	g_autofree gchar *clist = list_certs(db);
	g_autofree gchar *mlist = list_modules(db);

	g_assert_cmpint(has_cert(clist, TW_TEST_NICK_1) || has_cert(clist, TW_TEST_NICK_2), ==,
			g_strv_length(certs) > 0);
	g_assert_cmpint(strstr(mlist, TW_TEST_MODULE_NAME) != NULL, ==, g_strv_length(mods) == 1);
	g_assert_cmpuint(g_strv_length(removed), ==, 0);
}

static void
test_busy(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_autofree gchar *lock = g_build_filename(f->firefox, "lock", NULL);
	g_autofree gchar *target = g_strdup_printf("127.0.0.1:+%d", (int)getpid());
	g_autofree gchar *parentlock = g_build_filename(f->thunderbird, ".parentlock", NULL);
	g_autofree gchar *cert9 = g_build_filename(f->shared, "cert9.db", NULL);
	g_autofree gchar *listing = NULL;
	gint fd = -1;
	GPid pid;

	g_assert_true(tw_nss_register(f->firefox, &f->reg, record, &error));
	g_assert_no_error(error);
	g_assert_true(tw_nss_ensure_database(f->shared, &error));
	g_assert_no_error(error);

	/* Firefox running: its "lock" symlink names a live process */
	g_assert_cmpint(symlink(target, lock), ==, 0);
	assert_busy(f, record, f->firefox);
	assert_registered(f->firefox, TRUE, TRUE, TRUE);
	g_assert_cmpint(g_unlink(lock), ==, 0);
	/* a stale lock (no such process) is not */
	g_assert_cmpint(symlink("127.0.0.1:+999999999", lock), ==, 0);
	g_assert_true(tw_nss_unregister_all(f->firefox, record, &error));
	g_assert_no_error(error);
	assert_registered(f->firefox, FALSE, FALSE, FALSE);

	/* Thunderbird running: another process holds .parentlock */
	pid = hold_lock("import fcntl, sys\n"
			"f = open(sys.argv[1], 'w')\n"
			"fcntl.lockf(f, fcntl.LOCK_EX)\n"
			"print('locked', flush=True)\n"
			"sys.stdin.read()\n",
			parentlock, &fd);
	assert_busy(f, record, f->thunderbird);
	release_lock(pid, fd);
	g_assert_true(tw_nss_register(f->thunderbird, &f->reg, record, &error));
	g_assert_no_error(error);

	/* another program in a write transaction on cert9.db */
	pid = hold_lock("import sqlite3, sys\n"
			"c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
			"c.execute('BEGIN EXCLUSIVE')\n"
			"print('locked', flush=True)\n"
			"sys.stdin.read()\n",
			cert9, &fd);
	assert_busy(f, record, f->shared);
	release_lock(pid, fd);
	/* nothing broken */
	listing = list_certs(f->shared);

	/* another program reading in a long transaction: NSS's writes wait for
	 * sqlite's busy timeout and give up */
	pid = hold_lock("import sqlite3, sys\n"
			"c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
			"c.execute('BEGIN')\n"
			"c.execute('SELECT count(*) FROM nssPublic').fetchall()\n"
			"print('locked', flush=True)\n"
			"sys.stdin.read()\n",
			cert9, &fd);
	g_assert_false(tw_nss_register(f->shared, &f->reg, record, &error));
	g_assert_error(error, TW_NSS_ERROR, TW_NSS_ERROR_BUSY);
	g_clear_error(&error);
	release_lock(pid, fd);
	assert_record_true(record, f->shared);
	g_assert_true(tw_nss_register(f->shared, &f->reg, record, &error));
	g_assert_no_error(error);
	assert_registered(f->shared, TRUE, TRUE, TRUE);
}

/* NSS initialised by someone else in this process */
static void
test_in_use(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_autofree gchar *sql = g_strdup_printf("sql:%s", f->thunderbird);

	g_assert_cmpint(NSS_Initialize(sql, "", "", "secmod.db", NSS_INIT_READONLY), ==,
			SECSuccess);
	g_assert_false(tw_nss_register(f->firefox, &f->reg, record, &error));
	g_assert_error(error, TW_NSS_ERROR, TW_NSS_ERROR_IN_USE);
	g_assert_cmpint(NSS_Shutdown(), ==, SECSuccess);
	assert_registered(f->firefox, FALSE, FALSE, FALSE);
}

static void
test_p11kit(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TwNssRecord) record = tw_nss_record_load(f->record_path, &error);
	g_autofree gchar *config = g_build_filename(f->home, ".config", NULL);
	g_autofree gchar *copy = g_build_filename(f->home, "lib", "vendor-pkcs11.so", NULL);
	g_autofree gchar *file = g_build_filename(config, "pkcs11", "modules",
						  "tokenwatch-vendor-pkcs11.module", NULL);
	g_autofree gchar *contents = NULL;
	g_autofree gchar *want = g_strdup_printf("module: %s\n", copy);
	g_autofree gchar *dir = g_path_get_dirname(copy);
	const gchar *cp[] = {"cp", TW_TEST_MODULE, copy, NULL};
	g_autofree gchar *out = NULL;
	g_auto(GStrv) files = NULL;

	/* OpenSC: p11-kit knows it already (Debian's opensc-pkcs11.module) */
	g_assert_true(tw_nss_p11kit_ensure_module(config, TW_TEST_MODULE, record, &error));
	g_assert_no_error(error);
	files = tw_nss_record_get_p11kit_files(record);
	g_assert_cmpuint(g_strv_length(files), ==, 0);
	g_clear_pointer(&files, g_strfreev);

	/* a module p11-kit does not know */
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	out = run(cp, NULL);
	for (guint i = 0; i < 2; i++) {
		g_assert_true(tw_nss_p11kit_ensure_module(config, copy, record, &error));
		g_assert_no_error(error);
	}
	g_assert_true(g_file_get_contents(file, &contents, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_str_has_suffix(contents, want));
	files = tw_nss_record_get_p11kit_files(record);
	g_assert_cmpuint(g_strv_length(files), ==, 1);
	g_assert_cmpstr(files[0], ==, file);
	g_clear_pointer(&files, g_strfreev);

	g_assert_true(tw_nss_p11kit_unregister_all(record, &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
	files = tw_nss_record_get_p11kit_files(record);
	g_assert_cmpuint(g_strv_length(files), ==, 0);

	/* removed by the user: not written again */
	g_assert_true(tw_nss_p11kit_ensure_module(config, copy, record, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_unlink(file), ==, 0);
	g_assert_true(tw_nss_p11kit_ensure_module(config, copy, record, &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/nss/find-databases", test_find_databases);
	ADD("/nss/register", test_register);
	ADD("/nss/unregister-all", test_unregister_all);
	ADD("/nss/user-owned", test_user_owned);
	ADD("/nss/removed-by-user", test_removed_by_user);
	ADD("/nss/remove-certificates", test_remove_certificates);
	ADD("/nss/unsupported-cert", test_unsupported_cert);
	ADD("/nss/busy", test_busy);
	ADD("/nss/in-use", test_in_use);
	ADD("/nss/p11kit", test_p11kit);
#undef ADD
	return g_test_run();
}
