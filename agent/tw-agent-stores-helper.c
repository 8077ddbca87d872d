/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The NSS half of the store registration. It runs in a process of its own,
 * "tokenwatch-agent --stores-helper", started by the agent for each change:
 * opening an NSS database loads every PKCS#11 module registered in it (and
 * the one being added), vendor code that must not live in the agent, and
 * NSS keeps process-wide state and blocks while sqlite waits for a lock.
 * "tokenwatch-agent --unregister-all" runs the same code in its own,
 * short-lived process.
 *
 * The request is a keyfile (see tw-agent-stores.c); the answer, one line per
 * store: "ok|busy|failed <TAB> where <TAB> message". Runs are serialised by
 * an flock on the record, so a helper and --unregister-all never overlap.
 */

#include "config.h"

#include "tw-agent-stores.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "tw-nss.h"

void
tw_store_result_free(TwStoreResult *result)
{
	g_free(result->where);
	g_free(result->message);
	g_free(result);
}

static void
tw_store_result_add(GPtrArray *results,
		    TwStoreResultStatus status,
		    const gchar *where,
		    const gchar *message)
{
	TwStoreResult *result = g_new0(TwStoreResult, 1);

	result->status = status;
	result->where = g_strdup(where);
	result->message = g_strdup(message != NULL ? message : "");
	g_ptr_array_add(results, result);
}

static void
tw_store_result_add_error(GPtrArray *results, const gchar *where, const GError *error)
{
	TwStoreResultStatus status = g_error_matches(error, TW_NSS_ERROR, TW_NSS_ERROR_BUSY)
					     ? TW_STORE_RESULT_BUSY
					     : TW_STORE_RESULT_FAILED;
	tw_store_result_add(results, status, where, error->message);
}

gchar *
tw_agent_stores_record_path(void)
{
	return g_build_filename(g_get_user_state_dir(), "tokenwatch-agent", "stores.ini", NULL);
}

/* the record, or a fresh one when it cannot be read: the broken file is
 * kept aside (what it listed is then never removed, and never lost) */
static TwNssRecord *
tw_agent_stores_record_load(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	TwNssRecord *record = tw_nss_record_load(path, &error);
	g_autofree gchar *aside = NULL;

	if (record != NULL)
		return record;
	aside = g_strdup_printf("%s.broken-%" G_GINT64_FORMAT, path, g_get_real_time() / 1000000);
	if (rename(path, aside) == 0)
		g_warning("%s; kept as %s, starting a new record", error->message, aside);
	else
		g_warning("%s; starting a new record", error->message);
	g_clear_error(&error);
	return tw_nss_record_load(path, &error);
}

static int
tw_agent_stores_lock(const gchar *record_path, GError **error)
{
	g_autofree gchar *lock_path = g_strconcat(record_path, ".lock", NULL);
	g_autofree gchar *dir = g_path_get_dirname(record_path);
	int fd;

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot create %s: %s",
			    dir, g_strerror(errsv));
		return -1;
	}
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		int errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot lock %s: %s",
			    lock_path, g_strerror(errsv));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
tw_nss_registration_free(TwNssRegistration *reg)
{
	g_free(reg->module_name);
	g_free(reg->module_path);
	g_ptr_array_unref(reg->certs);
	g_ptr_array_unref(reg->nicknames);
	g_free(reg);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwNssRegistration, tw_nss_registration_free)

/* the [token N] groups of the request */
static GPtrArray *
tw_agent_stores_registrations(GKeyFile *request)
{
	GPtrArray *regs = g_ptr_array_new_with_free_func((GDestroyNotify)tw_nss_registration_free);
	g_auto(GStrv) groups = g_key_file_get_groups(request, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		g_autoptr(TwNssRegistration) reg = NULL;
		g_auto(GStrv) certs = NULL;
		g_auto(GStrv) nicks = NULL;

		if (!g_str_has_prefix(groups[i], "token "))
			continue;
		reg = g_new0(TwNssRegistration, 1);
		reg->module_name = g_key_file_get_string(request, groups[i], "module-name", NULL);
		reg->module_path = g_key_file_get_string(request, groups[i], "module-path", NULL);
		reg->certs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		reg->nicknames = g_ptr_array_new_with_free_func(g_free);
		certs = g_key_file_get_string_list(request, groups[i], "certificates", NULL, NULL);
		nicks = g_key_file_get_string_list(request, groups[i], "nicknames", NULL, NULL);
		for (guint j = 0; certs != NULL && certs[j] != NULL; j++) {
			gsize len = 0;
			guchar *der = g_base64_decode(certs[j], &len);

			if (len == 0) {
				g_free(der);
				continue;
			}
			g_ptr_array_add(reg->certs, g_bytes_new_take(der, len));
			g_ptr_array_add(reg->nicknames,
					g_strdup(nicks != NULL && j < g_strv_length(nicks)
							 ? nicks[j]
							 : "tokenwatch"));
		}
		if (reg->module_path != NULL && !g_path_is_absolute(reg->module_path))
			g_clear_pointer(&reg->module_path, g_free);
		if (reg->module_path == NULL)
			g_clear_pointer(&reg->module_name, g_free);
		g_ptr_array_add(regs, g_steal_pointer(&reg));
	}
	return regs;
}

static void
tw_agent_stores_sync(GKeyFile *request, TwNssRecord *record, GPtrArray *results)
{
	g_autoptr(GPtrArray) regs = tw_agent_stores_registrations(request);
	g_autoptr(GPtrArray) dbs = tw_nss_find_databases(g_get_home_dir());
	g_auto(GStrv) stale = g_key_file_get_string_list(request, "request", "remove", NULL, NULL);
	g_autoptr(GPtrArray) module_paths = g_ptr_array_new();

	for (guint i = 0; i < dbs->len; i++) {
		const gchar *dbdir = g_ptr_array_index(dbs, i);
		g_autoptr(GError) error = NULL;
		gboolean ok = TRUE;

		for (guint j = 0; j < regs->len && ok; j++)
			ok = tw_nss_register(dbdir, g_ptr_array_index(regs, j), record, &error);
		if (ok && stale != NULL && stale[0] != NULL)
			ok = tw_nss_remove_certificates(dbdir, record, (const gchar *const *)stale,
							&error);
		if (ok)
			tw_store_result_add(results, TW_STORE_RESULT_OK, dbdir, NULL);
		else
			tw_store_result_add_error(results, dbdir, error);
		/* what was done so far is recorded, whatever comes next */
		g_clear_error(&error);
		if (!tw_nss_record_save(record, &error))
			tw_store_result_add_error(results, "record", error);
	}

	for (guint j = 0; j < regs->len; j++) {
		TwNssRegistration *reg = g_ptr_array_index(regs, j);
		g_autoptr(GError) error = NULL;

		if (reg->module_path == NULL ||
		    g_ptr_array_find_with_equal_func(module_paths, reg->module_path, g_str_equal,
						     NULL))
			continue;
		g_ptr_array_add(module_paths, reg->module_path);
		if (tw_nss_p11kit_ensure_module(g_get_user_config_dir(), reg->module_path, record,
						&error))
			tw_store_result_add(results, TW_STORE_RESULT_OK, "p11-kit", NULL);
		else
			tw_store_result_add_error(results, "p11-kit", error);
	}
}

static void
tw_agent_stores_unregister(TwNssRecord *record, GPtrArray *results)
{
	g_auto(GStrv) dbs = tw_nss_record_get_databases(record);
	g_auto(GStrv) files = tw_nss_record_get_p11kit_files(record);
	g_autoptr(GError) error = NULL;

	for (guint i = 0; dbs[i] != NULL; i++) {
		g_autofree gchar *cert9 = g_build_filename(dbs[i], "cert9.db", NULL);
		g_auto(GStrv) modules = tw_nss_record_get_modules(record, dbs[i]);
		g_auto(GStrv) certs = tw_nss_record_get_certificates(record, dbs[i]);

		if (g_strv_length(modules) == 0 && g_strv_length(certs) == 0)
			continue;
		if (!g_file_test(cert9, G_FILE_TEST_IS_REGULAR)) {
			/* the profile was deleted: nothing of ours is left there */
			tw_nss_record_forget_database(record, dbs[i]);
			continue;
		}
		if (tw_nss_unregister_all(dbs[i], record, &error))
			tw_store_result_add(results, TW_STORE_RESULT_OK, dbs[i], NULL);
		else
			tw_store_result_add_error(results, dbs[i], error);
		g_clear_error(&error);
		if (!tw_nss_record_save(record, &error))
			tw_store_result_add_error(results, "record", error);
		g_clear_error(&error);
	}
	if (g_strv_length(files) > 0) {
		if (tw_nss_p11kit_unregister_all(record, &error))
			tw_store_result_add(results, TW_STORE_RESULT_OK, "p11-kit", NULL);
		else
			tw_store_result_add_error(results, "p11-kit", error);
	}
	g_clear_error(&error);
	if (!tw_nss_record_save(record, &error))
		tw_store_result_add_error(results, "record", error);
}

/**
 * tw_agent_stores_apply:
 * @request: "[request] action=sync|unregister-all" and, for sync, the
 *   [token N] groups and the stale certificates to remove
 *
 * Does the work of a request in this process; blocks. Returns the result of
 * every store touched (none when there was nothing to do), or NULL and
 * @error when the record cannot be locked.
 */
GPtrArray *
tw_agent_stores_apply(GKeyFile *request, GError **error)
{
	g_autofree gchar *record_path = tw_agent_stores_record_path();
	g_autofree gchar *action = g_key_file_get_string(request, "request", "action", NULL);
	g_autoptr(GPtrArray) results =
		g_ptr_array_new_with_free_func((GDestroyNotify)tw_store_result_free);
	g_autoptr(TwNssRecord) record = NULL;
	int lock_fd;

	if (g_strcmp0(action, "sync") != 0 && g_strcmp0(action, "unregister-all") != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown request '%s'",
			    action != NULL ? action : "");
		return NULL;
	}
	lock_fd = tw_agent_stores_lock(record_path, error);
	if (lock_fd < 0)
		return NULL;
	record = tw_agent_stores_record_load(record_path);
	if (record != NULL) {
		if (g_str_equal(action, "sync"))
			tw_agent_stores_sync(request, record, results);
		else
			tw_agent_stores_unregister(record, results);
	}
	close(lock_fd);
	return g_steal_pointer(&results);
}

/* "tokenwatch-agent --stores-helper": the request on stdin, the results on
 * stdout; exits 0 when every store was done, 75 (EX_TEMPFAIL) when one was
 * busy and should be tried again, 1 on a failure */
int
tw_agent_stores_helper_main(void)
{
	g_autoptr(GInputStream) in = g_unix_input_stream_new(STDIN_FILENO, FALSE);
	g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable();
	g_autoptr(GKeyFile) request = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) results = NULL;
	gboolean busy = FALSE;
	gboolean failed = FALSE;

	if (g_output_stream_splice(mem, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error) <
		    0 ||
	    !g_key_file_load_from_data(
		    request, g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(mem)),
		    g_memory_output_stream_get_data_size(G_MEMORY_OUTPUT_STREAM(mem)),
		    G_KEY_FILE_NONE, &error)) {
		g_printerr("tokenwatch-agent --stores-helper: bad request: %s\n", error->message);
		return 1;
	}
	results = tw_agent_stores_apply(request, &error);
	if (results == NULL) {
		g_printerr("tokenwatch-agent --stores-helper: %s\n", error->message);
		return 1;
	}
	for (guint i = 0; i < results->len; i++) {
		TwStoreResult *r = g_ptr_array_index(results, i);
		g_autofree gchar *message = g_strdelimit(g_strdup(r->message), "\t\n", ' ');
		const gchar *status = r->status == TW_STORE_RESULT_OK	  ? "ok"
				      : r->status == TW_STORE_RESULT_BUSY ? "busy"
									  : "failed";

		busy |= r->status == TW_STORE_RESULT_BUSY;
		failed |= r->status == TW_STORE_RESULT_FAILED;
		g_print("%s\t%s\t%s\n", status, r->where, message);
	}
	return failed ? 1 : busy ? 75 : 0;
}
