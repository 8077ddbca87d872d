/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PKCS#11 modules out of process. Each source of modules, p11-kit's
 * configuration and every module given by path, gets a helper process of
 * its own ("tokenwatchd --p11-helper", tw-p11-helper.c) that loads it and
 * reads its tokens. The daemon talks to it over a private peer-to-peer
 * D-Bus connection on a socket pair, asynchronously, with a time limit on
 * every call.
 *
 * A helper that crashes, or does not answer in time (then it is killed),
 * costs the read that met it: the tokens that source showed last time on
 * that reader come back with Error set to what happened, and the other
 * sources' tokens are read as usual. The next read starts the helper again;
 * after TW_P11_REMOTE_MAX_CRASHES crashes in a row a source is held back
 * for a while (30 s, doubling up to an hour), so that a module that always
 * crashes does not cost a process start per card event.
 */
#define G_LOG_DOMAIN "TwP11"

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tw-p11-helper.h"
#include "tw-p11-remote.h"
#include "tw-p11-wire.h"

#define TW_P11_REMOTE_CALL_EXTRA_MS 5000 /* beyond the helper's own limit */
#define TW_P11_REMOTE_MAX_CRASHES   3
#define TW_P11_REMOTE_HOLD_S	    30
#define TW_P11_REMOTE_HOLD_MAX_S    3600
#define TW_P11_REMOTE_STOP_WAIT_MS  3000

typedef struct {
	TwP11Remote *remote;
	gchar *label; /* "p11-kit" or the module's path: in errors and logs */
	gboolean use_p11_kit;
	gchar *module_path;

	GSubprocess *proc;
	GDBusConnection *connection;
	gboolean ready;		   /* loaded */
	GQueue waiters;		   /* GTask: waiting for the helper to be ready */
	gchar *died;		   /* why the last incarnation went, NULL while fine */
	GStrv modules;		   /* what its last Load() said */
	GHashTable *errors;	   /* module -> error, from the helper */
	GHashTable *last;	   /* slot description -> GPtrArray of TwP11Token, last read */
	guint crashes;		   /* in a row */
	gint64 hold_until;	   /* monotonic µs; no start before */
	GCancellable *cancellable; /* of the wait for the helper's end */
	gboolean closing;	   /* its connection closed; how it ended is not known yet */
	guint exit_timeout_id;
	GQueue dying; /* TwP11RemoteReadOne that met the closing */
} TwP11Source;

struct _TwP11Remote {
	TwP11 *owner; /* not a reference: it owns us */
	guint timeout_ms;
	GPtrArray *sources;
	gboolean shut_down;
};

static void tw_p11_source_stop(TwP11Source *source, const gchar *why);
static gchar *tw_p11_source_exit_text(GSubprocess *proc);
static void tw_p11_source_flush_dying(TwP11Source *source, const gchar *why);

static TwP11Source *
tw_p11_source_new(TwP11Remote *remote, gboolean use_p11_kit, const gchar *module_path)
{
	TwP11Source *source = g_new0(TwP11Source, 1);

	source->remote = remote;
	source->use_p11_kit = use_p11_kit;
	source->module_path = g_strdup(module_path);
	source->label = g_strdup(use_p11_kit ? "p11-kit" : module_path);
	g_queue_init(&source->waiters);
	g_queue_init(&source->dying);
	source->cancellable = g_cancellable_new();
	source->errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	source->last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)g_ptr_array_unref);
	return source;
}

static void
tw_p11_source_free(TwP11Source *source)
{
	tw_p11_source_stop(source, "tokenwatchd is stopping");
	g_cancellable_cancel(source->cancellable);
	g_clear_object(&source->cancellable);
	g_free(source->label);
	g_free(source->module_path);
	g_free(source->died);
	g_strfreev(source->modules);
	g_hash_table_unref(source->errors);
	g_hash_table_unref(source->last);
	g_free(source);
}

/* --- starting and stopping a helper ------------------------------------- */

static void
tw_p11_source_fail_waiters(TwP11Source *source, const gchar *why)
{
	GTask *task;

	while ((task = g_queue_pop_head(&source->waiters)) != NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "%s", why);
		g_object_unref(task);
	}
}

/* Ends the helper's incarnation (closing the connection makes it exit; one
 * that does not is killed) and fails what waits for it. */
static void
tw_p11_source_stop(TwP11Source *source, const gchar *why)
{
	if (source->connection != NULL) {
		g_signal_handlers_disconnect_by_data(source->connection, source);
		g_dbus_connection_close(source->connection, NULL, NULL, NULL);
		g_clear_object(&source->connection);
	}
	if (source->proc != NULL) {
		gint64 end = g_get_monotonic_time() +
			     TW_P11_REMOTE_STOP_WAIT_MS * G_TIME_SPAN_MILLISECOND;

		/* a helper that is not stuck exits at once when its connection
		 * closes; the child watch reaps it in GLib's worker thread */
		while (g_subprocess_get_identifier(source->proc) != NULL &&
		       g_get_monotonic_time() < end && source->remote->shut_down)
			g_usleep(10 * 1000);
		if (g_subprocess_get_identifier(source->proc) != NULL) {
			g_subprocess_force_exit(source->proc);
		} else if (source->remote->shut_down &&
			   !g_subprocess_get_successful(source->proc) &&
			   !(g_subprocess_get_if_signaled(source->proc) &&
			     g_subprocess_get_term_sig(source->proc) == SIGTERM)) {
			/* asked to stop, it should end well (SIGTERM: systemd
			 * stops the whole service at once) */
			g_autofree gchar *how = tw_p11_source_exit_text(source->proc);
			g_warning("the PKCS#11 helper for %s ended badly: %s", source->label, how);
		}
		g_clear_object(&source->proc);
	}
	source->ready = FALSE;
	source->closing = FALSE;
	g_clear_handle_id(&source->exit_timeout_id, g_source_remove);
	tw_p11_source_fail_waiters(source, why);
	tw_p11_source_flush_dying(source, why);
}

/* the helper went: crashed, killed, or its connection broke */
static void
tw_p11_source_died(TwP11Source *source, const gchar *why)
{
	g_autofree gchar *msg = g_strdup_printf("PKCS#11 %s: %s", source->label, why);

	g_warning("%s", msg);
	g_free(source->died);
	source->died = g_strdup(msg);
	source->crashes++;
	if (source->crashes >= TW_P11_REMOTE_MAX_CRASHES) {
		guint shift = MIN(source->crashes - TW_P11_REMOTE_MAX_CRASHES, 7u);
		guint hold = MIN(TW_P11_REMOTE_HOLD_S << shift, TW_P11_REMOTE_HOLD_MAX_S);

		source->hold_until = g_get_monotonic_time() + (gint64)hold * G_TIME_SPAN_SECOND;
		g_warning("PKCS#11 %s failed %u times in a row: not started again for %u s",
			  source->label, source->crashes, hold);
	}
	tw_p11_source_stop(source, msg);
}

static gchar *
tw_p11_source_exit_text(GSubprocess *proc)
{
	if (proc == NULL || g_subprocess_get_identifier(proc) != NULL)
		return g_strdup("its helper process stopped answering");
	if (g_subprocess_get_if_signaled(proc))
		return g_strdup_printf("its helper process crashed (%s)",
				       g_strsignal(g_subprocess_get_term_sig(proc)));
	return g_strdup_printf("its helper process exited with status %d",
			       g_subprocess_get_exit_status(proc));
}

static void
tw_p11_source_exited_cb(GObject *object, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *why = NULL;
	TwP11Source *source;

	if (!g_subprocess_wait_finish(G_SUBPROCESS(object), res, &error) &&
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	source = user_data;
	if (source->proc != G_SUBPROCESS(object))
		return;
	why = tw_p11_source_exit_text(source->proc);
	tw_p11_source_died(source, why);
}

static gboolean
tw_p11_source_exit_timeout_cb(gpointer user_data)
{
	TwP11Source *source = user_data;

	source->exit_timeout_id = 0;
	/* closed its end, but lives on: stuck somewhere */
	if (source->closing && source->proc != NULL)
		g_subprocess_force_exit(source->proc);
	return G_SOURCE_REMOVE;
}

/* the helper's connection closed: find out how it ended, without waiting */
static void
tw_p11_source_closed_cb(GDBusConnection *connection,
			gboolean remote_peer_vanished,
			GError *error,
			gpointer user_data)
{
	TwP11Source *source = user_data;

	if (source->proc == NULL) {
		tw_p11_source_died(source, "its helper process went away");
		return;
	}
	source->closing = TRUE;
	g_subprocess_wait_async(source->proc, source->cancellable, tw_p11_source_exited_cb, source);
	g_clear_handle_id(&source->exit_timeout_id, g_source_remove);
	source->exit_timeout_id = g_timeout_add_seconds(2, tw_p11_source_exit_timeout_cb, source);
}

static void
tw_p11_source_loaded_cb(GObject *object, GAsyncResult *res, gpointer user_data)
{
	TwP11Source *source = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
		g_dbus_connection_call_finish(G_DBUS_CONNECTION(object), res, &error);
	g_autoptr(GVariant) errors = NULL;
	GTask *task;

	if (reply == NULL) {
		if (source->connection == G_DBUS_CONNECTION(object))
			tw_p11_source_died(source, error->message);
		return;
	}
	g_strfreev(source->modules);
	g_variant_get(reply, "(^as@a{ss})", &source->modules, &errors);
	g_hash_table_remove_all(source->errors);
	{
		GVariantIter iter;
		const gchar *k, *v;

		g_variant_iter_init(&iter, errors);
		while (g_variant_iter_next(&iter, "{&s&s}", &k, &v))
			g_hash_table_insert(source->errors, g_strdup(k), g_strdup(v));
	}
	g_debug("PKCS#11 helper for %s ready: %u modules", source->label,
		g_strv_length(source->modules));
	source->ready = TRUE;
	while ((task = g_queue_pop_head(&source->waiters)) != NULL) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
	}
}

static void
tw_p11_source_connected_cb(GObject *object, GAsyncResult *res, gpointer user_data)
{
	TwP11Source *source = user_data;
	g_autoptr(GError) error = NULL;
	GDBusConnection *connection = g_dbus_connection_new_finish(res, &error);

	if (connection == NULL) {
		tw_p11_source_died(source, error->message);
		return;
	}
	source->connection = connection;
	g_signal_connect(connection, "closed", G_CALLBACK(tw_p11_source_closed_cb), source);
	g_dbus_connection_call(connection, NULL, TW_P11_HELPER_PATH, TW_P11_HELPER_IFACE, "Load",
			       NULL, G_VARIANT_TYPE("(asa{ss})"), G_DBUS_CALL_FLAGS_NONE,
			       (gint)(source->remote->timeout_ms + TW_P11_REMOTE_CALL_EXTRA_MS),
			       NULL, tw_p11_source_loaded_cb, source);
}

static gboolean
tw_p11_source_spawn(TwP11Source *source, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GSocket) socket = NULL;
	g_autoptr(GSocketConnection) stream = NULL;
	g_autofree gchar *exe = g_file_read_link("/proc/self/exe", error);
	int fds[2];

	if (exe == NULL)
		return FALSE;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		int errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "socketpair: %s",
			    g_strerror(errsv));
		return FALSE;
	}
	g_ptr_array_add(argv, g_steal_pointer(&exe));
	g_ptr_array_add(argv, g_strdup("--p11-helper"));
	g_ptr_array_add(argv, g_strdup_printf("--p11-timeout=%u", source->remote->timeout_ms));
	if (!source->use_p11_kit) {
		g_ptr_array_add(argv, g_strdup("--no-p11-kit"));
		g_ptr_array_add(argv, g_strdup_printf("--pkcs11-module=%s", source->module_path));
	}
	if (g_getenv("G_MESSAGES_DEBUG") != NULL)
		g_ptr_array_add(argv, g_strdup("--verbose"));
	g_ptr_array_add(argv, NULL);

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_subprocess_launcher_take_fd(launcher, fds[1], TW_P11_HELPER_FD);
	source->proc =
		g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, error);
	if (source->proc == NULL) {
		close(fds[0]);
		return FALSE;
	}
	socket = g_socket_new_from_fd(fds[0], error);
	if (socket == NULL) {
		close(fds[0]);
		g_subprocess_force_exit(source->proc);
		g_clear_object(&source->proc);
		return FALSE;
	}
	stream = g_socket_connection_factory_create_connection(socket);
	g_dbus_connection_new(G_IO_STREAM(stream), NULL,
			      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL,
			      tw_p11_source_connected_cb, source);
	g_debug("PKCS#11 helper for %s started (pid %s)", source->label,
		g_subprocess_get_identifier(source->proc));
	return TRUE;
}

/* Calls back (a GTask of its own) once the helper runs and has loaded its
 * modules, starting it when needed. */
static void
tw_p11_source_ensure(TwP11Source *source,
		     GCancellable *cancellable,
		     GAsyncReadyCallback callback,
		     gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);
	g_autoptr(GError) error = NULL;

	if (source->ready) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	if (source->remote->shut_down) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CLOSED, "shutting down");
		g_object_unref(task);
		return;
	}
	if (source->proc == NULL && g_get_monotonic_time() < source->hold_until) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_BUSY,
					"%s (held back after %u failures in a row)",
					source->died != NULL ? source->died : source->label,
					source->crashes);
		g_object_unref(task);
		return;
	}
	g_queue_push_tail(&source->waiters, task);
	if (source->proc == NULL && !tw_p11_source_spawn(source, &error))
		tw_p11_source_died(source, error->message);
}

/* --- loading ------------------------------------------------------------- */

typedef struct {
	guint pending;
	guint loaded;
	GString *why;
} TwP11RemoteLoad;

static void
tw_p11_remote_load_free(TwP11RemoteLoad *load)
{
	g_string_free(load->why, TRUE);
	g_free(load);
}

static void
tw_p11_remote_load_one_cb(GObject *object, GAsyncResult *res, gpointer user_data)
{
	GTask *task = G_TASK(user_data);
	TwP11RemoteLoad *load = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;

	if (g_task_propagate_boolean(G_TASK(res), &error))
		load->loaded++;
	else
		g_string_append_printf(load->why, "%s%s", load->why->len > 0 ? "; " : "",
				       error->message);
	if (--load->pending > 0)
		return;
	if (load->loaded > 0)
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", load->why->str);
	g_object_unref(task);
}

void
tw_p11_remote_load_async(TwP11Remote *remote,
			 GCancellable *cancellable,
			 GAsyncReadyCallback callback,
			 gpointer user_data)
{
	GTask *task = g_task_new(remote->owner, cancellable, callback, user_data);
	TwP11RemoteLoad *load = g_new0(TwP11RemoteLoad, 1);

	g_task_set_source_tag(task, tw_p11_load_async);
	load->why = g_string_new(NULL);
	g_task_set_task_data(task, load, (GDestroyNotify)tw_p11_remote_load_free);
	if (remote->sources->len == 0) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	load->pending = remote->sources->len;
	for (guint i = 0; i < remote->sources->len; i++)
		tw_p11_source_ensure(g_ptr_array_index(remote->sources, i), cancellable,
				     tw_p11_remote_load_one_cb, task);
}

/* --- reading -------------------------------------------------------------- */

typedef struct {
	gchar *reader; /* NULL: every slot */
	guint n_sources;
	guint pending;
	guint failed;
	GPtrArray *tokens; /* TwP11Token */
	GString *why;
} TwP11RemoteRead;

typedef struct {
	GTask *task;
	TwP11Source *source;
} TwP11RemoteReadOne;

static void
tw_p11_remote_read_free(TwP11RemoteRead *read)
{
	g_free(read->reader);
	g_ptr_array_unref(read->tokens);
	g_string_free(read->why, TRUE);
	g_free(read);
}

/* what the source showed last time on the reader (every reader: NULL),
 * now with @why as their error */
static void
tw_p11_remote_add_last(TwP11RemoteRead *read, TwP11Source *source, const gchar *why)
{
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, source->last);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		GPtrArray *tokens = value;

		if (read->reader != NULL && g_strcmp0(key, read->reader) != 0)
			continue;
		for (guint i = 0; i < tokens->len; i++) {
			TwP11Token *copy = tw_p11_token_copy(g_ptr_array_index(tokens, i));

			g_free(copy->error);
			copy->error = g_strdup(why);
			g_ptr_array_add(read->tokens, copy);
		}
	}
}

static void
tw_p11_remote_remember(TwP11RemoteRead *read, TwP11Source *source, GPtrArray *tokens)
{
	if (read->reader == NULL)
		g_hash_table_remove_all(source->last);
	else
		g_hash_table_remove(source->last, read->reader);
	for (guint i = 0; i < tokens->len; i++) {
		TwP11Token *t = g_ptr_array_index(tokens, i);
		const gchar *key = t->slot_description != NULL ? t->slot_description : "";
		GPtrArray *list = g_hash_table_lookup(source->last, key);

		if (list == NULL) {
			list = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free);
			g_hash_table_insert(source->last, g_strdup(key), list);
		}
		g_ptr_array_add(list, tw_p11_token_copy(t));
	}
}

static void
tw_p11_remote_read_one_done(TwP11RemoteReadOne *one, GPtrArray *tokens, const gchar *why)
{
	GTask *task = one->task;
	TwP11RemoteRead *read = g_task_get_task_data(task);

	if (tokens != NULL) {
		tw_p11_remote_remember(read, one->source, tokens);
		g_ptr_array_extend_and_steal(read->tokens, g_ptr_array_ref(tokens));
		one->source->crashes = 0;
	} else {
		read->failed++;
		g_string_append_printf(read->why, "%s%s", read->why->len > 0 ? "; " : "", why);
		tw_p11_remote_add_last(read, one->source, why);
	}
	g_free(one);
	if (--read->pending == 0) {
		/* nothing at all to show: the read failed */
		if (read->tokens->len == 0 && read->failed == read->n_sources)
			g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
						read->why->str);
		else
			g_task_return_pointer(task, g_ptr_array_ref(read->tokens),
					      (GDestroyNotify)g_ptr_array_unref);
	}
	g_object_unref(task);
}

/* the reads that met the helper's end learn now how it ended */
static void
tw_p11_source_flush_dying(TwP11Source *source, const gchar *why)
{
	TwP11RemoteReadOne *one;

	while ((one = g_queue_pop_head(&source->dying)) != NULL)
		tw_p11_remote_read_one_done(one, NULL, why);
}

static void
tw_p11_remote_read_reply_cb(GObject *object, GAsyncResult *res, gpointer user_data)
{
	TwP11RemoteReadOne *one = user_data;
	TwP11Source *source = one->source;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
		g_dbus_connection_call_finish(G_DBUS_CONNECTION(object), res, &error);
	g_autoptr(GVariant) tokens_v = NULL;
	g_autoptr(GVariant) errors = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autofree gchar *why = NULL;

	if (reply == NULL) {
		gboolean current = source->connection == G_DBUS_CONNECTION(object);

		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			why = g_strdup(error->message);
		} else if (g_dbus_error_is_remote_error(error)) {
			/* the helper answered: the module failed, or did not return
			 * in time, and then it stays stuck in the helper: a fresh one
			 * for the next read */
			g_dbus_error_strip_remote_error(error);
			why = g_strdup(error->message);
			if (current && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
				tw_p11_source_died(source, why);
		} else if (current && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
			/* the helper itself is stuck: it goes */
			why = g_strdup_printf("its helper process did not answer within %u ms",
					      source->remote->timeout_ms +
						      TW_P11_REMOTE_CALL_EXTRA_MS);
			tw_p11_source_died(source, why);
		} else if ((current || source->closing) &&
			   g_dbus_connection_is_closed(G_DBUS_CONNECTION(object))) {
			/* the helper went in the middle of the read: wait to know how */
			g_queue_push_tail(&source->dying, one);
			return;
		} else {
			why = g_strdup_printf("PKCS#11 %s: %s", source->label,
					      source->died != NULL ? source->died : error->message);
		}
		tw_p11_remote_read_one_done(one, NULL, why);
		return;
	}
	g_variant_get(reply, "(@" TW_P11_WIRE_TOKENS_TYPE "@a{ss})", &tokens_v, &errors);
	{
		GVariantIter iter;
		const gchar *k, *v;

		g_hash_table_remove_all(source->errors);
		g_variant_iter_init(&iter, errors);
		while (g_variant_iter_next(&iter, "{&s&s}", &k, &v))
			g_hash_table_insert(source->errors, g_strdup(k), g_strdup(v));
	}
	tokens = tw_p11_wire_to_tokens(tokens_v, &error);
	if (tokens == NULL) {
		why = g_strdup_printf("PKCS#11 %s: %s", source->label, error->message);
		tw_p11_remote_read_one_done(one, NULL, why);
		return;
	}
	tw_p11_remote_read_one_done(one, tokens, NULL);
}

static void
tw_p11_remote_read_ready_cb(GObject *object, GAsyncResult *res, gpointer user_data)
{
	TwP11RemoteReadOne *one = user_data;
	TwP11RemoteRead *read = g_task_get_task_data(one->task);
	g_autoptr(GError) error = NULL;

	if (!g_task_propagate_boolean(G_TASK(res), &error) || one->source->connection == NULL) {
		tw_p11_remote_read_one_done(one, NULL,
					    error != NULL ? error->message : one->source->label);
		return;
	}
	g_dbus_connection_call(
		one->source->connection, NULL, TW_P11_HELPER_PATH, TW_P11_HELPER_IFACE, "Read",
		g_variant_new("(^ay)", read->reader != NULL ? read->reader : ""), NULL,
		G_DBUS_CALL_FLAGS_NONE,
		(gint)(one->source->remote->timeout_ms + TW_P11_REMOTE_CALL_EXTRA_MS),
		g_task_get_cancellable(one->task), tw_p11_remote_read_reply_cb, one);
}

void
tw_p11_remote_read_async(TwP11Remote *remote,
			 const gchar *reader_name,
			 GCancellable *cancellable,
			 GAsyncReadyCallback callback,
			 gpointer user_data)
{
	GTask *task = g_task_new(remote->owner, cancellable, callback, user_data);
	TwP11RemoteRead *read = g_new0(TwP11RemoteRead, 1);

	g_task_set_source_tag(task, tw_p11_read_async);
	read->reader = g_strdup(reader_name);
	read->tokens = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free);
	read->why = g_string_new(NULL);
	g_task_set_task_data(task, read, (GDestroyNotify)tw_p11_remote_read_free);
	read->n_sources = remote->sources->len;
	if (remote->sources->len == 0) {
		g_task_return_pointer(task, g_ptr_array_ref(read->tokens),
				      (GDestroyNotify)g_ptr_array_unref);
		g_object_unref(task);
		return;
	}
	read->pending = remote->sources->len;
	for (guint i = 0; i < remote->sources->len; i++) {
		TwP11RemoteReadOne *one = g_new0(TwP11RemoteReadOne, 1);

		one->task = g_object_ref(task);
		one->source = g_ptr_array_index(remote->sources, i);
		tw_p11_source_ensure(one->source, cancellable, tw_p11_remote_read_ready_cb, one);
	}
	g_object_unref(task);
}

/* --- the rest -------------------------------------------------------------- */

GStrv
tw_p11_remote_get_modules(TwP11Remote *remote)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	for (guint i = 0; i < remote->sources->len; i++) {
		TwP11Source *source = g_ptr_array_index(remote->sources, i);

		if (source->ready && source->modules != NULL)
			g_strv_builder_addv(builder, (const gchar **)source->modules);
	}
	return g_strv_builder_end(builder);
}

GHashTable *
tw_p11_remote_get_module_errors(TwP11Remote *remote)
{
	GHashTable *errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	for (guint i = 0; i < remote->sources->len; i++) {
		TwP11Source *source = g_ptr_array_index(remote->sources, i);
		GHashTableIter iter;
		gpointer key, value;

		g_hash_table_iter_init(&iter, source->errors);
		while (g_hash_table_iter_next(&iter, &key, &value))
			g_hash_table_insert(errors, g_strdup(key), g_strdup(value));
		if (source->died != NULL && !source->ready)
			g_hash_table_insert(errors, g_strdup(source->label),
					    g_strdup(source->died));
	}
	return errors;
}

void
tw_p11_remote_shutdown(TwP11Remote *remote)
{
	if (remote->shut_down)
		return;
	remote->shut_down = TRUE;
	for (guint i = 0; i < remote->sources->len; i++)
		tw_p11_source_stop(g_ptr_array_index(remote->sources, i),
				   "tokenwatchd is stopping");
}

TwP11Remote *
tw_p11_remote_new(TwP11 *owner,
		  gboolean use_p11_kit_config,
		  const gchar *const *module_paths,
		  guint timeout_ms)
{
	TwP11Remote *remote = g_new0(TwP11Remote, 1);

	remote->owner = owner;
	remote->timeout_ms = timeout_ms;
	remote->sources = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_source_free);
	if (use_p11_kit_config)
		g_ptr_array_add(remote->sources, tw_p11_source_new(remote, TRUE, NULL));
	for (guint i = 0; module_paths != NULL && module_paths[i] != NULL; i++)
		g_ptr_array_add(remote->sources, tw_p11_source_new(remote, FALSE, module_paths[i]));
	return remote;
}

void
tw_p11_remote_free(TwP11Remote *remote)
{
	if (remote == NULL)
		return;
	tw_p11_remote_shutdown(remote);
	g_ptr_array_unref(remote->sources);
	g_free(remote);
}
