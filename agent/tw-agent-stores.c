/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * TwAgentStores: keeps the certificates of the user's tokens registered in
 * the user's NSS databases and p11-kit configuration, as Windows vendor
 * middleware does with the system store.
 *
 * On the main loop it only decides: which tokens are the user's and present,
 * their PKCS#11 module (Token.ModulePath) and certificates (DER through
 * libtokenwatch), and which copies went stale. The NSS work runs in a helper
 * process (tw-agent-stores-helper.c) fed a request keyfile:
 *
 *   [request]  action=sync, remove=<sha256>;...   (stale copies to delete)
 *   [token N]  module-name, module-path, certificates=<base64 DER>;...,
 *              nicknames=<token label> - <holder>;...
 *
 * A store in use (Firefox running, sqlite locked) is tried again after
 * [Stores] RetrySeconds, and so is everything when the helper had to be
 * stopped after TW_STORES_HELPER_TIMEOUT_S. Copies of certificates that expired or were
 * superseded are removed [Stores] RemoveStaleAfterDays after that happened
 * (for an expired one: after NotAfter; for a superseded one: after the agent
 * first saw it superseded, kept in $XDG_STATE_HOME/tokenwatch-agent/stale.ini);
 * until then they stay, and they are not registered anew.
 */

#include "config.h"

#include "tw-agent-stores.h"

#include <string.h>

#include "tw-agent-util.h"

#define TW_STORES_SYNC_DELAY_MS 300
#define TW_STORES_GROUP_STALE	"stale"
#define TW_STORES_EX_TEMPFAIL	75
/* a run loads vendor PKCS#11 modules, which may hang (a card pulled in the
 * middle of an APDU): it is stopped after this long and tried again later */
#define TW_STORES_HELPER_TIMEOUT_S 90
#define TW_DAY_SECONDS		   (24 * 60 * 60)

struct _TwAgentStores {
	GObject parent_instance;

	TwAgentConfig config;
	TokenwatchClient *client;
	GCancellable *cancellable;
	GKeyFile *stale;
	gchar *stale_path;
	GKeyFile *results; /* the last result per store, for tokenwatchctl doctor */
	gchar *results_path;

	guint sync_id;	/* a sync is due soon */
	guint retry_id; /* a store was busy */
	guint due_id;	/* a stale copy is due for removal */
	GSubprocess *helper;
	guint helper_timeout_id;
	gboolean running;
	gboolean again; /* asked for while running */

	GKeyFile *request; /* the one being put together */
	guint pending;	   /* DER reads still out, +1 while gathering */
};

G_DEFINE_TYPE(TwAgentStores, tw_agent_stores, G_TYPE_OBJECT)

typedef struct {
	TwAgentStores *self;
	gchar *group;
	gchar *nickname;
} TwDerRead;

static void
tw_der_read_free(TwDerRead *read)
{
	g_object_unref(read->self);
	g_free(read->group);
	g_free(read->nickname);
	g_free(read);
}

/* stale.ini and results.ini: in the agent's state directory, made if need be */
static void
tw_agent_stores_save_keyfile(GKeyFile *kf, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_path_get_dirname(path);

	g_mkdir_with_parents(dir, 0700);
	if (!g_key_file_save_to_file(kf, path, &error))
		g_warning("Cannot save %s: %s", path, error->message);
}

/* what the last run did for @store ("ok", "busy" or "failed"), kept in
 * results.ini for tokenwatchctl doctor; the group "helper" is the run itself */
static void
tw_agent_stores_record(TwAgentStores *self,
		       const gchar *store,
		       const gchar *result,
		       const gchar *message)
{
	g_key_file_set_string(self->results, store, "Result", result);
	g_key_file_set_string(self->results, store, "Message", message);
	g_key_file_set_int64(self->results, store, "Time", g_get_real_time() / G_USEC_PER_SEC);
}

/* "opensc-pkcs11 (tokenwatch)": the p11-kit name, or the file's */
static gchar *
tw_agent_stores_module_name(TokenwatchToken *token)
{
	const gchar *module = tokenwatch_token_get_module(token);
	g_autofree gchar *base = NULL;

	if (module == NULL || module[0] == '\0')
		module = tokenwatch_token_get_module_path(token);
	base = g_path_get_basename(module);
	if (g_str_has_suffix(base, ".so"))
		base[strlen(base) - 3] = '\0';
	return g_strdup_printf("%s (tokenwatch)", base);
}

static gchar *
tw_agent_stores_nickname(TokenwatchToken *token, TokenwatchCertificate *cert)
{
	const gchar *label = tokenwatch_token_get_label(token);

	if (label == NULL || label[0] == '\0')
		label = tw_agent_token_name(token);
	return g_strdup_printf("%s - %s", label, tw_agent_holder(cert));
}

static void
tw_agent_stores_append(GKeyFile *kf, const gchar *group, const gchar *key, const gchar *value)
{
	g_auto(GStrv) list = g_key_file_get_string_list(kf, group, key, NULL, NULL);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) updated = NULL;

	if (list != NULL)
		g_strv_builder_addv(builder, (const gchar **)list);
	g_strv_builder_add(builder, value);
	updated = g_strv_builder_end(builder);
	g_key_file_set_string_list(kf, group, key, (const gchar *const *)updated,
				   g_strv_length(updated));
}

static gboolean
tw_agent_stores_retry_cb(gpointer user_data)
{
	TwAgentStores *self = TW_AGENT_STORES(user_data);

	self->retry_id = 0;
	g_debug("Trying the busy stores again");
	tw_agent_stores_schedule_sync(self);
	return G_SOURCE_REMOVE;
}

static gboolean
tw_agent_stores_due_cb(gpointer user_data)
{
	TwAgentStores *self = TW_AGENT_STORES(user_data);

	self->due_id = 0;
	tw_agent_stores_schedule_sync(self);
	return G_SOURCE_REMOVE;
}

static void
tw_agent_stores_finished(TwAgentStores *self)
{
	g_clear_handle_id(&self->helper_timeout_id, g_source_remove);
	g_clear_object(&self->helper);
	self->running = FALSE;
	g_clear_pointer(&self->request, g_key_file_unref);
	if (self->again) {
		self->again = FALSE;
		tw_agent_stores_schedule_sync(self);
	}
}

static void
tw_agent_stores_helper_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwAgentStores) self = TW_AGENT_STORES(user_data);
	GSubprocess *helper = G_SUBPROCESS(source);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_auto(GStrv) lines = NULL;
	gboolean busy = FALSE;

	if (!g_subprocess_communicate_utf8_finish(helper, res, &out, NULL, &error)) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		g_warning("The store helper failed: %s", error->message);
		tw_agent_stores_record(self, "helper", "failed", error->message);
		tw_agent_stores_save_keyfile(self->results, self->results_path);
		tw_agent_stores_finished(self);
		return;
	}
	lines = g_strsplit(out != NULL ? out : "", "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], "\t", 3);

		if (g_strv_length(f) < 3)
			continue;
		if (g_str_equal(f[0], "ok")) {
			g_info("Registered in %s", f[1]);
			tw_agent_stores_record(self, f[1], "ok", f[2]);
		} else if (g_str_equal(f[0], "busy")) {
			g_info("%s is in use, trying again in %u s: %s", f[1],
			       self->config.retry_seconds, f[2]);
			tw_agent_stores_record(self, f[1], "busy", f[2]);
			busy = TRUE;
		} else {
			g_warning("Cannot register in %s: %s", f[1], f[2]);
			tw_agent_stores_record(self, f[1], "failed", f[2]);
		}
	}
	if (g_subprocess_get_if_exited(helper) &&
	    g_subprocess_get_exit_status(helper) == TW_STORES_EX_TEMPFAIL) {
		busy = TRUE;
	} else if (g_subprocess_get_if_signaled(helper)) {
		/* stopped by the time limit, or killed: what it did is recorded */
		busy = TRUE;
	} else if (!g_subprocess_get_successful(helper) && !busy) {
		g_autofree gchar *msg = g_strdup_printf("The store helper ended with status %d",
							g_subprocess_get_status(helper));

		g_warning("%s", msg);
		tw_agent_stores_record(self, "helper", "failed", msg);
	} else {
		tw_agent_stores_record(self, "helper", "ok", "");
	}
	tw_agent_stores_save_keyfile(self->results, self->results_path);
	if (busy && self->retry_id == 0)
		self->retry_id = g_timeout_add_seconds(self->config.retry_seconds,
						       tw_agent_stores_retry_cb, self);
	tw_agent_stores_finished(self);
}

static gboolean
tw_agent_stores_helper_timeout_cb(gpointer user_data)
{
	TwAgentStores *self = TW_AGENT_STORES(user_data);

	self->helper_timeout_id = 0;
	g_warning("The store helper did not finish in %u s (a PKCS#11 module hangs?): "
		  "stopped, trying again in %u s",
		  TW_STORES_HELPER_TIMEOUT_S, self->config.retry_seconds);
	tw_agent_stores_record(self, "helper", "failed",
			       "did not finish in time: a PKCS#11 module hangs?");
	if (self->helper != NULL)
		g_subprocess_force_exit(self->helper);
	return G_SOURCE_REMOVE;
}

static void
tw_agent_stores_spawn(TwAgentStores *self)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) helper = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *exe = g_file_read_link("/proc/self/exe", &error);
	g_autofree gchar *data = NULL;

	if (exe == NULL) {
		g_warning("Cannot find the agent's own program: %s", error->message);
		tw_agent_stores_finished(self);
		return;
	}
	data = g_key_file_to_data(self->request, NULL, NULL);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
					     G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	helper = g_subprocess_launcher_spawn(launcher, &error, exe, "--stores-helper", NULL);
	if (helper == NULL) {
		g_warning("Cannot start the store helper: %s", error->message);
		tw_agent_stores_finished(self);
		return;
	}
	g_debug("Store helper %s started", g_subprocess_get_identifier(helper));
	self->helper = g_object_ref(helper);
	self->helper_timeout_id = g_timeout_add_seconds(TW_STORES_HELPER_TIMEOUT_S,
							tw_agent_stores_helper_timeout_cb, self);
	g_subprocess_communicate_utf8_async(helper, data, self->cancellable,
					    tw_agent_stores_helper_cb, g_object_ref(self));
}

/* one DER read or the gathering itself is done */
static void
tw_agent_stores_gathered(TwAgentStores *self)
{
	g_auto(GStrv) groups = NULL;
	g_auto(GStrv) remove = NULL;

	g_return_if_fail(self->pending > 0);
	if (--self->pending > 0)
		return;
	groups = g_key_file_get_groups(self->request, NULL);
	remove = g_key_file_get_string_list(self->request, "request", "remove", NULL, NULL);
	if (g_strv_length(groups) <= 1 && (remove == NULL || remove[0] == NULL)) {
		g_debug("Nothing to register");
		tw_agent_stores_finished(self);
		return;
	}
	tw_agent_stores_spawn(self);
}

static void
tw_agent_stores_der_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwDerRead *read = user_data;
	TwAgentStores *self = read->self;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) der =
		tokenwatch_certificate_get_der_finish(TOKENWATCH_CERTIFICATE(source), res, &error);

	if (der == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		tw_der_read_free(read);
		return;
	}
	if (der == NULL) {
		g_info("Cannot read %s: %s",
		       tokenwatch_certificate_get_object_path(TOKENWATCH_CERTIFICATE(source)),
		       error->message);
	} else if (self->request != NULL) {
		gsize len = 0;
		const guchar *data = g_bytes_get_data(der, &len);
		g_autofree gchar *b64 = g_base64_encode(data, len);

		tw_agent_stores_append(self->request, read->group, "certificates", b64);
		tw_agent_stores_append(self->request, read->group, "nicknames", read->nickname);
	}
	if (self->request != NULL)
		tw_agent_stores_gathered(self);
	tw_der_read_free(read);
}

/* Whether the copies of @cert are stale; when they are, *due is when they
 * may be removed. Remembers when a superseded certificate was first seen. */
static gboolean
tw_agent_stores_is_stale(TwAgentStores *self,
			 TokenwatchCertificate *cert,
			 gint64 now,
			 gint64 *due,
			 gboolean *changed)
{
	TokenwatchCertificateStatus status = tokenwatch_certificate_get_status(cert);
	const gchar *sha = tokenwatch_certificate_get_sha256(cert);
	gint64 since;

	if (status == TOKENWATCH_CERTIFICATE_STATUS_EXPIRED) {
		guint64 not_after = tokenwatch_certificate_get_not_after(cert);
		since = not_after > (guint64)G_MAXINT64 ? now : (gint64)not_after;
	} else if (status == TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED) {
		g_autoptr(GError) error = NULL;
		since = g_key_file_get_int64(self->stale, TW_STORES_GROUP_STALE, sha, &error);
		if (error != NULL || since <= 0 || since > now) {
			since = now;
			g_key_file_set_int64(self->stale, TW_STORES_GROUP_STALE, sha, since);
			*changed = TRUE;
		}
	} else {
		return FALSE;
	}
	*due = since + (gint64)self->config.stale_days * TW_DAY_SECONDS;
	return TRUE;
}

static void
tw_agent_stores_gather(TwAgentStores *self)
{
	g_autoptr(GPtrArray) tokens = tokenwatch_client_get_tokens(self->client);
	g_autoptr(GStrvBuilder) remove = g_strv_builder_new();
	g_autoptr(GHashTable) stale_seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_auto(GStrv) remove_list = NULL;
	g_auto(GStrv) remembered = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gint64 next_due = G_MAXINT64;
	gboolean changed = FALSE;
	guint n = 0;

	self->request = g_key_file_new();
	g_key_file_set_string(self->request, "request", "action", "sync");
	self->pending = 1;
	for (guint i = 0; i < tokens->len; i++) {
		TokenwatchToken *token = g_ptr_array_index(tokens, i);
		const gchar *module_path = tokenwatch_token_get_module_path(token);
		const gchar *const *paths = tokenwatch_token_get_certificate_paths(token);
		gboolean reg = tokenwatch_token_get_present(token) && module_path != NULL &&
			       g_path_is_absolute(module_path);
		g_autofree gchar *group = g_strdup_printf("token %u", n);

		if (!tw_agent_token_is_mine(token))
			continue;
		if (reg) {
			g_autofree gchar *name = tw_agent_stores_module_name(token);

			g_key_file_set_string(self->request, group, "module-name", name);
			g_key_file_set_string(self->request, group, "module-path", module_path);
			n++;
		}
		for (guint j = 0; paths != NULL && paths[j] != NULL; j++) {
			TokenwatchCertificate *cert =
				tokenwatch_client_get_certificate_by_path(self->client, paths[j]);
			const gchar *sha =
				cert != NULL ? tokenwatch_certificate_get_sha256(cert) : NULL;
			gint64 due = 0;
			TwDerRead *read;

			if (sha == NULL || sha[0] == '\0')
				continue;
			if (tw_agent_stores_is_stale(self, cert, now, &due, &changed)) {
				g_hash_table_add(stale_seen, (gpointer)sha);
				if (due <= now)
					g_strv_builder_add(remove, sha);
				else
					next_due = MIN(next_due, due);
				continue;
			}
			if (!reg)
				continue;
			read = g_new0(TwDerRead, 1);
			read->self = g_object_ref(self);
			read->group = g_strdup(group);
			read->nickname = tw_agent_stores_nickname(token, cert);
			self->pending++;
			tokenwatch_certificate_get_der_async(cert, self->cancellable,
							     tw_agent_stores_der_cb, read);
		}
	}

	/* a certificate no longer superseded, or gone from tokenwatchd */
	remembered = g_key_file_get_keys(self->stale, TW_STORES_GROUP_STALE, NULL, NULL);
	for (guint i = 0; remembered != NULL && remembered[i] != NULL; i++) {
		if (!g_hash_table_contains(stale_seen, remembered[i])) {
			g_key_file_remove_key(self->stale, TW_STORES_GROUP_STALE, remembered[i],
					      NULL);
			changed = TRUE;
		}
	}
	if (changed)
		tw_agent_stores_save_keyfile(self->stale, self->stale_path);
	remove_list = g_strv_builder_end(remove);
	if (remove_list[0] != NULL)
		g_key_file_set_string_list(self->request, "request", "remove",
					   (const gchar *const *)remove_list,
					   g_strv_length(remove_list));
	g_clear_handle_id(&self->due_id, g_source_remove);
	if (next_due != G_MAXINT64)
		self->due_id =
			g_timeout_add_seconds((guint)CLAMP(next_due - now + 1, 1, TW_DAY_SECONDS),
					      tw_agent_stores_due_cb, self);
	tw_agent_stores_gathered(self);
}

static void
tw_agent_stores_run(TwAgentStores *self)
{
	if (self->client == NULL || !tokenwatch_client_get_daemon_running(self->client))
		return;
	if (self->running) {
		self->again = TRUE;
		return;
	}
	self->running = TRUE;
	tw_agent_stores_gather(self);
}

static gboolean
tw_agent_stores_sync_cb(gpointer user_data)
{
	TwAgentStores *self = TW_AGENT_STORES(user_data);

	self->sync_id = 0;
	tw_agent_stores_run(self);
	return G_SOURCE_REMOVE;
}

/* Registers what is due soon; several calls in a row make one run. */
void
tw_agent_stores_schedule_sync(TwAgentStores *self)
{
	g_return_if_fail(TW_IS_AGENT_STORES(self));

	if (!self->config.register_stores || self->sync_id != 0)
		return;
	self->sync_id = g_timeout_add(TW_STORES_SYNC_DELAY_MS, tw_agent_stores_sync_cb, self);
}

void
tw_agent_stores_set_client(TwAgentStores *self, TokenwatchClient *client)
{
	g_return_if_fail(TW_IS_AGENT_STORES(self));
	g_set_object(&self->client, client);
}

static void
tw_agent_stores_dispose(GObject *object)
{
	TwAgentStores *self = TW_AGENT_STORES(object);

	g_cancellable_cancel(self->cancellable);
	g_clear_handle_id(&self->sync_id, g_source_remove);
	g_clear_handle_id(&self->retry_id, g_source_remove);
	g_clear_handle_id(&self->due_id, g_source_remove);
	g_clear_handle_id(&self->helper_timeout_id, g_source_remove);
	/* a run under way finishes alone; its result is recorded */
	g_clear_object(&self->helper);
	g_clear_object(&self->client);
	g_clear_pointer(&self->request, g_key_file_unref);
	G_OBJECT_CLASS(tw_agent_stores_parent_class)->dispose(object);
}

static void
tw_agent_stores_finalize(GObject *object)
{
	TwAgentStores *self = TW_AGENT_STORES(object);

	g_clear_object(&self->cancellable);
	g_key_file_unref(self->stale);
	g_key_file_unref(self->results);
	g_free(self->results_path);
	g_free(self->stale_path);
	G_OBJECT_CLASS(tw_agent_stores_parent_class)->finalize(object);
}

static void
tw_agent_stores_class_init(TwAgentStoresClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_agent_stores_dispose;
	object_class->finalize = tw_agent_stores_finalize;
}

static void
tw_agent_stores_init(TwAgentStores *self)
{
	self->cancellable = g_cancellable_new();
	self->stale = g_key_file_new();
	self->stale_path =
		g_build_filename(g_get_user_state_dir(), "tokenwatch-agent", "stale.ini", NULL);
	self->results = g_key_file_new();
	self->results_path =
		g_build_filename(g_get_user_state_dir(), "tokenwatch-agent", "results.ini", NULL);
}

TwAgentStores *
tw_agent_stores_new(const TwAgentConfig *config)
{
	TwAgentStores *self = g_object_new(TW_TYPE_AGENT_STORES, NULL);
	g_autoptr(GError) error = NULL;

	self->config = *config;
	if (!g_key_file_load_from_file(self->stale, self->stale_path, G_KEY_FILE_NONE, &error) &&
	    !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		g_warning("Cannot read %s, starting afresh: %s", self->stale_path, error->message);
	/* the results of other stores stay until they are tried again */
	g_key_file_load_from_file(self->results, self->results_path, G_KEY_FILE_NONE, NULL);
	return self;
}
