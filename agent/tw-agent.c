/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tw-agent-config.h"
#include "tw-agent-stores.h"
#include "tw-agent-util.h"
#include "tw-agent.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <string.h>
#include <tokenwatch.h>
#include <unistd.h>

/*
 * TwAgent: the per-user agent. It follows tokenwatchd through a
 * TokenwatchClient (which survives the daemon restarting) and turns its
 * warnings into desktop notifications (org.freedesktop.Notifications on the
 * session bus, through GDBus).
 *
 * What was shown is remembered in $XDG_STATE_HOME/tokenwatch-agent/notified.ini,
 * so that a restart of the agent repeats nothing:
 *
 *   [notified]  <sha256>/<level>/<days>, advice/<token path>/<code>,
 *               device/<token path>/<days>, renewed/<new sha256>: unix time
 *   [snoozed]   <note key> (cert/<sha256>, advice/<token path>/<code>): until
 *
 * A notification that could not be shown (no notification server) is kept and
 * shown when the server appears or with the next event.
 */

#define NOTIFY_NAME	    "org.freedesktop.Notifications"
#define NOTIFY_PATH	    "/org/freedesktop/Notifications"
#define NOTIFY_IFACE	    "org.freedesktop.Notifications"
#define SNOOZE_SECONDS	    (24 * 60 * 60)
#define CATCH_UP_DELAY_MS   1500
#define GROUP_NOTIFIED	    "notified"
#define GROUP_SNOOZED	    "snoozed"
#define NOTIFY_TIMEOUT_MSEC 10000

typedef enum {
	TW_URGENCY_LOW = 0,
	TW_URGENCY_NORMAL = 1,
	TW_URGENCY_CRITICAL = 2,
} TwUrgency;

typedef struct {
	gchar *key;    /* what it is about: replaces the notification, snoozes */
	gchar *record; /* key in [notified], NULL when nothing is remembered */
	gchar *summary;
	gchar *body;
	const gchar *icon; /* static */
	TwUrgency urgency;
	gboolean snoozable;
	gboolean ignore_snooze;
} TwNote;

struct _TwAgent {
	GObject parent_instance;

	GBusType daemon_bus_type;
	GCancellable *cancellable;
	TokenwatchClient *client;

	GDBusConnection *session;
	guint notify_watch_id;
	guint action_sub_id;
	gboolean server_present;
	gboolean caps_known;
	gboolean caps_pending;
	gboolean has_actions;

	GKeyFile *state;
	gchar *state_path;
	GHashTable *ids;	   /* note key -> notification id (GUINT_TO_POINTER) */
	GHashTable *id_keys;	   /* notification id -> note key */
	GHashTable *snoozable_ids; /* notification ids offered a snooze */
	GQueue pending;		   /* TwNote waiting for the server */

	guint catch_up_id;
	guint snooze_timer_id;

	TwAgentConfig config;
	TwAgentStores *stores; /* the user's NSS databases and p11-kit */
};

G_DEFINE_TYPE(TwAgent, tw_agent, G_TYPE_OBJECT)

static void tw_agent_flush(TwAgent *self);
static void tw_agent_catch_up(TwAgent *self);

static void
tw_note_free(TwNote *note)
{
	g_free(note->key);
	g_free(note->record);
	g_free(note->summary);
	g_free(note->body);
	g_free(note);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwNote, tw_note_free)

static gboolean
tw_agent_certificate_is_mine(TwAgent *self, TokenwatchCertificate *cert)
{
	const gchar *path = tokenwatch_certificate_get_token_path(cert);
	TokenwatchToken *token;

	if (path == NULL || g_strcmp0(path, "/") == 0)
		return TRUE;
	token = tokenwatch_client_get_token_by_path(self->client, path);
	return token == NULL || tw_agent_token_is_mine(token);
}

/* --- the remembered state ------------------------------------------------ */

static void
tw_agent_state_load(TwAgent *self)
{
	g_autoptr(GError) error = NULL;

	self->state_path =
		g_build_filename(g_get_user_state_dir(), "tokenwatch-agent", "notified.ini", NULL);
	if (!g_key_file_load_from_file(self->state, self->state_path, G_KEY_FILE_NONE, &error) &&
	    !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		g_warning("Ignoring %s: %s", self->state_path, error->message);
}

static void
tw_agent_state_save(TwAgent *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_path_get_dirname(self->state_path);
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_warning("Cannot create %s: %s", dir, g_strerror(errno));
		return;
	}
	data = g_key_file_to_data(self->state, &len, NULL);
	/* g_file_set_contents: a temporary file, fsync, rename */
	if (!g_file_set_contents_full(self->state_path, data, (gssize)len,
				      G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
		g_warning("Cannot write %s: %s", self->state_path, error->message);
}

static gboolean
tw_agent_was_notified(TwAgent *self, const gchar *record)
{
	return g_key_file_has_key(self->state, GROUP_NOTIFIED, record, NULL);
}

/* whether any [notified] key starts with @prefix */
static gboolean
tw_agent_was_notified_prefix(TwAgent *self, const gchar *prefix)
{
	g_auto(GStrv) keys = g_key_file_get_keys(self->state, GROUP_NOTIFIED, NULL, NULL);

	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		if (g_str_has_prefix(keys[i], prefix))
			return TRUE;
	}
	return FALSE;
}

static void
tw_agent_remember(TwAgent *self, const gchar *record)
{
	g_key_file_set_int64(self->state, GROUP_NOTIFIED, record,
			     g_get_real_time() / G_USEC_PER_SEC);
	tw_agent_state_save(self);
}

static void
tw_agent_forget_record(TwAgent *self, const gchar *record)
{
	if (g_key_file_remove_key(self->state, GROUP_NOTIFIED, record, NULL))
		tw_agent_state_save(self);
}

static gint64
tw_agent_snoozed_until(TwAgent *self, const gchar *key)
{
	gint64 until = g_key_file_get_int64(self->state, GROUP_SNOOZED, key, NULL);

	return until > g_get_real_time() / G_USEC_PER_SEC ? until : 0;
}

static gboolean tw_agent_snooze_timer_cb(gpointer user_data);

/* drops the snoozes that ended; arms the timer for the next end */
static gboolean
tw_agent_snoozes_update(TwAgent *self)
{
	g_auto(GStrv) keys = g_key_file_get_keys(self->state, GROUP_SNOOZED, NULL, NULL);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gint64 next = 0;
	gboolean ended = FALSE;

	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		gint64 until = g_key_file_get_int64(self->state, GROUP_SNOOZED, keys[i], NULL);

		if (until <= now) {
			g_key_file_remove_key(self->state, GROUP_SNOOZED, keys[i], NULL);
			ended = TRUE;
		} else if (next == 0 || until < next) {
			next = until;
		}
	}
	if (ended)
		tw_agent_state_save(self);
	g_clear_handle_id(&self->snooze_timer_id, g_source_remove);
	if (next != 0)
		self->snooze_timer_id = g_timeout_add_seconds_full(
			G_PRIORITY_DEFAULT, (guint)MIN(next - now, G_MAXUINT32 / 2),
			tw_agent_snooze_timer_cb, self, NULL);
	return ended;
}

static gboolean
tw_agent_snooze_timer_cb(gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	self->snooze_timer_id = 0;
	if (tw_agent_snoozes_update(self))
		tw_agent_catch_up(self);
	return G_SOURCE_REMOVE;
}

/* --- the notification server --------------------------------------------- */

static GVariant *
tw_agent_note_parameters(TwAgent *self, TwNote *note)
{
	GVariantBuilder actions;
	GVariantBuilder hints;
	guint replaces_id = GPOINTER_TO_UINT(g_hash_table_lookup(self->ids, note->key));

	g_variant_builder_init(&actions, G_VARIANT_TYPE("as"));
	if (self->has_actions) {
		g_variant_builder_add(&actions, "s", "default");
		g_variant_builder_add(&actions, "s", _("Details"));
		if (note->snoozable) {
			g_variant_builder_add(&actions, "s", "snooze");
			g_variant_builder_add(&actions, "s", _("Remind me tomorrow"));
		}
	}
	g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&hints, "{sv}", "urgency", g_variant_new_byte((guchar)note->urgency));
	g_variant_builder_add(&hints, "{sv}", "desktop-entry",
			      g_variant_new_string("tokenwatch-agent"));
	return g_variant_new("(susssasa{sv}i)", "tokenwatch", replaces_id, note->icon,
			     note->summary, note->body, &actions, &hints, -1);
}

static void
tw_agent_queue(TwAgent *self, TwNote *note)
{
	/* a newer note about the same thing replaces a waiting one */
	for (GList *l = self->pending.head; l != NULL; l = l->next) {
		TwNote *old = l->data;

		if (g_strcmp0(old->key, note->key) == 0) {
			if (old->record != NULL && g_strcmp0(old->record, note->record) != 0)
				tw_agent_forget_record(self, old->record);
			tw_note_free(old);
			l->data = note;
			return;
		}
	}
	g_queue_push_tail(&self->pending, note);
}

typedef struct {
	TwAgent *self;
	TwNote *note;
} TwNotifyData;

static void
tw_agent_notify_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwNotifyData *data = user_data;
	TwAgent *self = data->self;
	g_autoptr(TwNote) note = data->note;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	guint id = 0;

	g_free(data);
	reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
	if (reply == NULL) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_object_unref(self);
			return;
		}
		g_info("Cannot show the notification “%s” now, keeping it: %s", note->summary,
		       error->message);
		tw_agent_queue(self, g_steal_pointer(&note));
		g_object_unref(self);
		return;
	}
	g_variant_get(reply, "(u)", &id);
	g_debug("Notification %u: %s", id, note->summary);
	g_hash_table_replace(self->ids, g_strdup(note->key), GUINT_TO_POINTER(id));
	g_hash_table_replace(self->id_keys, GUINT_TO_POINTER(id), g_strdup(note->key));
	if (note->snoozable)
		g_hash_table_add(self->snoozable_ids, GUINT_TO_POINTER(id));
	else
		g_hash_table_remove(self->snoozable_ids, GUINT_TO_POINTER(id));
	g_object_unref(self);
}

static void
tw_agent_send(TwAgent *self, TwNote *note)
{
	TwNotifyData *data = g_new0(TwNotifyData, 1);

	data->self = g_object_ref(self);
	data->note = note;
	g_dbus_connection_call(self->session, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE, "Notify",
			       tw_agent_note_parameters(self, note), G_VARIANT_TYPE("(u)"),
			       G_DBUS_CALL_FLAGS_NO_AUTO_START, NOTIFY_TIMEOUT_MSEC,
			       self->cancellable, tw_agent_notify_cb, data);
}

static void
tw_agent_capabilities_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree const gchar **caps = NULL;

	reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_object_unref(self);
		return;
	}
	self->caps_pending = FALSE;
	if (reply == NULL) {
		g_info("No notification server: %s", error->message);
		g_object_unref(self);
		return;
	}
	g_variant_get(reply, "(^a&s)", &caps);
	self->caps_known = TRUE;
	self->has_actions = g_strv_contains(caps, "actions");
	g_debug("Notification server %s actions", self->has_actions ? "with" : "without");
	tw_agent_flush(self);
	g_object_unref(self);
}

static gboolean
tw_agent_ensure_session(TwAgent *self)
{
	g_autoptr(GError) error = NULL;

	if (self->session != NULL)
		return TRUE;
	self->session = g_bus_get_sync(G_BUS_TYPE_SESSION, self->cancellable, &error);
	if (self->session == NULL) {
		g_info("No session bus, notifications wait: %s", error->message);
		return FALSE;
	}
	return TRUE;
}

/* shows what waits, once the server's capabilities are known */
static void
tw_agent_flush(TwAgent *self)
{
	TwNote *note;

	if (g_queue_is_empty(&self->pending) || !tw_agent_ensure_session(self))
		return;
	if (!self->caps_known) {
		if (!self->caps_pending) {
			self->caps_pending = TRUE;
			g_dbus_connection_call(
				self->session, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_IFACE,
				"GetCapabilities", NULL, G_VARIANT_TYPE("(as)"),
				G_DBUS_CALL_FLAGS_NO_AUTO_START, NOTIFY_TIMEOUT_MSEC,
				self->cancellable, tw_agent_capabilities_cb, g_object_ref(self));
		}
		return;
	}
	while ((note = g_queue_pop_head(&self->pending)) != NULL)
		tw_agent_send(self, note);
}

/* Takes @note. Nothing when it was shown before or is snoozed; else it is
 * remembered at once (so that a second event before the reply does not show
 * it twice) and shown, now or when a server is there. */
static void
tw_agent_post(TwAgent *self, TwNote *note)
{
	if (note->record != NULL && tw_agent_was_notified(self, note->record)) {
		g_debug("Already shown: %s", note->record);
		tw_note_free(note);
		tw_agent_flush(self);
		return;
	}
	if (!note->ignore_snooze && tw_agent_snoozed_until(self, note->key) != 0) {
		g_debug("Snoozed: %s", note->key);
		tw_note_free(note);
		tw_agent_flush(self);
		return;
	}
	if (note->record != NULL)
		tw_agent_remember(self, note->record);
	tw_agent_queue(self, note);
	tw_agent_flush(self);
}

static void
tw_agent_snooze(TwAgent *self, const gchar *key)
{
	gint64 until = g_get_real_time() / G_USEC_PER_SEC + SNOOZE_SECONDS;
	g_auto(GStrv) records = g_key_file_get_keys(self->state, GROUP_NOTIFIED, NULL, NULL);
	g_autofree gchar *prefix = NULL;

	/* what was shown about it is forgotten, so it is shown again after */
	if (g_str_has_prefix(key, "cert/"))
		prefix = g_strdup_printf("%s/", key + strlen("cert/"));
	else
		prefix = g_strdup(key);
	for (guint i = 0; records != NULL && records[i] != NULL; i++) {
		if (g_str_has_prefix(records[i], prefix))
			g_key_file_remove_key(self->state, GROUP_NOTIFIED, records[i], NULL);
	}
	g_key_file_set_int64(self->state, GROUP_SNOOZED, key, until);
	tw_agent_state_save(self);
	tw_agent_snoozes_update(self);
	g_message("Snoozed %s until tomorrow", key);
}

static void
tw_agent_action_invoked_cb(GDBusConnection *connection,
			   const gchar *sender,
			   const gchar *object_path,
			   const gchar *interface_name,
			   const gchar *signal_name,
			   GVariant *parameters,
			   gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);
	const gchar *action = NULL;
	const gchar *key;
	guint id = 0;

	if (!g_variant_is_of_type(parameters, G_VARIANT_TYPE("(us)")))
		return;
	g_variant_get(parameters, "(u&s)", &id, &action);
	key = g_hash_table_lookup(self->id_keys, GUINT_TO_POINTER(id));
	if (key == NULL)
		return;
	if (g_strcmp0(action, "snooze") == 0 &&
	    g_hash_table_contains(self->snoozable_ids, GUINT_TO_POINTER(id))) {
		tw_agent_snooze(self, key);
	} else if (g_strcmp0(action, "default") == 0) {
		if (g_str_has_prefix(key, "cert/"))
			g_message("Details: tokenwatchctl show %s", key + strlen("cert/"));
		else
			g_message("Details: tokenwatchctl tokens");
	}
}

static void
tw_agent_server_appeared_cb(GDBusConnection *connection,
			    const gchar *name,
			    const gchar *name_owner,
			    gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	g_debug("Notification server appeared: %s", name_owner);
	self->server_present = TRUE;
	self->caps_known = FALSE;
	tw_agent_flush(self);
}

static void
tw_agent_server_vanished_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	if (self->server_present)
		g_info("The notification server went away");
	self->server_present = FALSE;
	self->caps_known = FALSE;
	/* its ids mean nothing to the next one */
	g_hash_table_remove_all(self->ids);
	g_hash_table_remove_all(self->id_keys);
	g_hash_table_remove_all(self->snoozable_ids);
}

static void
tw_agent_watch_server(TwAgent *self)
{
	if (!tw_agent_ensure_session(self))
		return;
	self->notify_watch_id = g_bus_watch_name_on_connection(
		self->session, NOTIFY_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
		tw_agent_server_appeared_cb, tw_agent_server_vanished_cb, self, NULL);
	self->action_sub_id = g_dbus_connection_signal_subscribe(
		self->session, NULL, NOTIFY_IFACE, "ActionInvoked", NOTIFY_PATH, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, tw_agent_action_invoked_cb, self, NULL);
}

/* --- what is said -------------------------------------------------------- */

static gchar *
tw_agent_format_date(guint64 unix_time)
{
	g_autoptr(GDateTime) dt = NULL;

	if (unix_time == 0 || unix_time > G_MAXINT64)
		return g_strdup("?");
	dt = g_date_time_new_from_unix_local((gint64)unix_time);
	if (dt == NULL)
		return g_strdup("?");
	return g_date_time_format(dt, "%x");
}

/* the level tokenwatchd gives @days_left (docs/dbus-api.md, Warnings) */
static const gchar *
tw_agent_level_for_days(gint days_left)
{
	if (days_left < 0)
		return "expired";
	if (days_left <= 7)
		return "critical";
	if (days_left <= 30)
		return "warning";
	return "info";
}

static void
tw_agent_notify_expiry(TwAgent *self,
		       TokenwatchCertificate *cert,
		       gint days_left,
		       const gchar *level)
{
	const gchar *sha256 = tokenwatch_certificate_get_sha256(cert);
	gboolean expired = g_strcmp0(level, "expired") == 0 || days_left < 0;
	g_autofree gchar *date =
		tw_agent_format_date(tokenwatch_certificate_get_effective_not_after(cert));
	g_autofree gchar *holder = g_strdup_printf(_("Holder: %s"), tw_agent_holder(cert));
	TwNote *note;

	if (sha256 == NULL || !tw_agent_certificate_is_mine(self, cert))
		return;
	note = g_new0(TwNote, 1);
	note->key = g_strdup_printf("cert/%s", sha256);
	note->record = g_strdup_printf("%s/%s/%d", sha256, level, days_left);
	note->snoozable = !expired;
	note->ignore_snooze = expired;
	if (expired) {
		g_autofree gchar *when = g_strdup_printf(_("It expired on %s."), date);

		note->summary = g_strdup(_("Certificate has expired"));
		note->body = g_strjoin("\n", holder, when,
				       _("It can no longer be renewed from this computer: a new "
					 "certificate needs a visit in person (e.g. a Czech Post "
					 "branch)."),
				       NULL);
	} else {
		g_autofree gchar *by = g_strdup_printf(_("Renew it by %s."), date);

		if (days_left == 0)
			note->summary = g_strdup(_("Certificate expires today"));
		else
			note->summary = g_strdup_printf(ngettext("Certificate expires in %d day",
								 "Certificate expires in %d days",
								 (gulong)days_left),
							days_left);
		note->body = g_strjoin("\n", holder, by,
				       _("Renew it now, while it is still valid: after it expires, "
					 "a new certificate needs a visit in person."),
				       NULL);
	}
	if (expired || g_strcmp0(level, "critical") == 0) {
		note->urgency = TW_URGENCY_CRITICAL;
		note->icon = "dialog-error";
	} else if (g_strcmp0(level, "info") == 0) {
		note->urgency = TW_URGENCY_LOW;
		note->icon = "dialog-warning";
	} else {
		note->urgency = TW_URGENCY_NORMAL;
		note->icon = "dialog-warning";
	}
	tw_agent_post(self, note);
}

static void
tw_agent_expiry_warning_cb(TokenwatchClient *client,
			   TokenwatchCertificate *cert,
			   gint days_left,
			   const gchar *level,
			   gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	tw_agent_notify_expiry(self, cert, days_left, level);
	/* an expired certificate's copies go after the grace period */
	if (g_strcmp0(level, "expired") == 0)
		tw_agent_stores_schedule_sync(self->stores);
}

static void
tw_agent_device_ending_cb(TokenwatchClient *client,
			  TokenwatchToken *token,
			  gint days_left,
			  gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);
	g_autofree gchar *date =
		tw_agent_format_date(tokenwatch_token_get_qscd_certified_until(token));
	const gchar *name = tw_agent_token_name(token);
	TwNote *note;

	if (!tw_agent_token_is_mine(token))
		return;
	note = g_new0(TwNote, 1);
	note->key = g_strdup_printf("device%s", tokenwatch_token_get_object_path(token));
	note->record =
		g_strdup_printf("device%s/%d", tokenwatch_token_get_object_path(token), days_left);
	if (days_left <= 0) {
		note->summary = g_strdup_printf(
			_("The qualified certification of your %s has ended"), name);
		note->body = g_strdup(_("Every qualified certificate on it is revoked. Get a new "
					"device for your qualified certificates."));
	} else {
		g_autofree gchar *revoked = g_strdup_printf(
			_("Every qualified certificate on it will be revoked on %s."), date);

		note->summary = g_strdup_printf(
			ngettext("The qualified certification of your %s ends in %d day",
				 "The qualified certification of your %s ends in %d days",
				 (gulong)days_left),
			name, days_left);
		note->body = g_strjoin("\n", revoked,
				       _("Get a new device in time and have your certificates "
					 "issued on it."),
				       NULL);
	}
	note->urgency = days_left <= 30 ? TW_URGENCY_CRITICAL : TW_URGENCY_NORMAL;
	note->icon = days_left <= 30 ? "dialog-error" : "dialog-warning";
	tw_agent_post(self, note);
}

static void
tw_agent_certificate_renewed_cb(TokenwatchClient *client,
				TokenwatchCertificate *old_cert,
				TokenwatchCertificate *new_cert,
				gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);
	const gchar *sha256 = tokenwatch_certificate_get_sha256(new_cert);
	const gchar *old_sha256 = tokenwatch_certificate_get_sha256(old_cert);
	const gchar *decimal;
	g_autofree gchar *holder = NULL;
	g_autofree gchar *serial = NULL;
	TwNote *note;

	if (sha256 == NULL || !tw_agent_certificate_is_mine(self, new_cert))
		return;
	/* the new one registered, the old one's copies go after the grace period */
	tw_agent_stores_schedule_sync(self->stores);
	holder = g_strdup_printf(_("Holder: %s"), tw_agent_holder(new_cert));
	decimal = tokenwatch_certificate_get_serial_number_decimal(new_cert);
	serial = g_strdup_printf(_("New serial number: %s"), decimal != NULL ? decimal : "?");
	note = g_new0(TwNote, 1);
	/* replaces the expiry warning of the old one */
	note->key = g_strdup_printf("cert/%s", old_sha256 != NULL ? old_sha256 : sha256);
	note->record = g_strdup_printf("renewed/%s", sha256);
	note->ignore_snooze = TRUE;
	note->summary = g_strdup(_("Certificate renewed"));
	note->body =
		g_strjoin("\n", holder, serial,
			  _("Enter this serial number in your JIP account (CzechPOINT)."), NULL);
	note->urgency = TW_URGENCY_NORMAL;
	note->icon = "dialog-information";
	tw_agent_post(self, note);
}

/* The daemon's advice texts are English: the agent says them in the user's
 * language (docs/dbus-api.md, Advice codes). FALSE for a code it does not
 * know. */
static gboolean
tw_agent_advice_text(const gchar *code, const gchar *name, gchar **summary, gchar **body)
{
	if (g_strcmp0(code, "factory-pin") == 0) {
		*summary = g_strdup_printf(_("Change the factory PIN of your %s"), name);
		*body = g_strdup(_("The factory PIN is still set. Change it before you use the "
				   "device to sign."));
	} else if (g_strcmp0(code, "pin-count-low") == 0) {
		*summary = g_strdup_printf(_("A wrong PIN was entered on your %s"), name);
		*body = g_strdup(_("The PIN tries are running out. Enter the PIN carefully."));
	} else if (g_strcmp0(code, "pin-final-try") == 0) {
		*summary = g_strdup_printf(_("One PIN try left on your %s"), name);
		*body = g_strdup(_("One more wrong PIN blocks it. Enter the PIN carefully."));
	} else if (g_strcmp0(code, "pin-locked") == 0) {
		*summary = g_strdup_printf(_("The PIN of your %s is blocked"), name);
		*body = g_strdup(_("Unblock it with the PUK. Do not guess: blocking the PIN, the "
				   "PUK and the qualified PIN together destroys some qualified "
				   "devices."));
	} else if (g_strcmp0(code, "puk-final-try") == 0) {
		*summary = g_strdup_printf(_("One PUK try left on your %s"), name);
		*body = g_strdup(_("One more wrong PUK blocks it for good."));
	} else if (g_strcmp0(code, "puk-locked") == 0) {
		*summary = g_strdup_printf(_("The PUK of your %s is blocked"), name);
		*body = g_strdup(_("A blocked PIN can no longer be unblocked. If the PIN gets "
				   "blocked too, the device has to be replaced."));
	} else if (g_strcmp0(code, "qualified-area-full") == 0) {
		*summary = g_strdup_printf(_("No room for a renewal on your %s"), name);
		*body = g_strdup(_("The qualified area is full: renewing a certificate will fail "
				   "(errors 621/622) until an expired or superseded certificate "
				   "is removed from it. “tokenwatchctl certs” shows which ones "
				   "can go."));
	} else if (g_strcmp0(code, "memory-low") == 0) {
		*summary = g_strdup_printf(_("Your %s is almost full"), name);
		*body = g_strdup(_("There may be no room left for a renewal."));
	} else if (g_strcmp0(code, "device-certification-ended") == 0) {
		*summary = g_strdup_printf(_("The qualified certification of your %s has ended"),
					   name);
		*body = g_strdup(_("Every qualified certificate on it is revoked. Get a new "
				   "device for your qualified certificates."));
	} else {
		return FALSE;
	}
	return TRUE;
}

/* handled by DeviceCertificationEnding */
static const gchar *const tw_advice_silent[] = {"device-certification-ending", NULL};

static void
tw_agent_check_advice(TwAgent *self, TokenwatchToken *token)
{
	g_autoptr(GPtrArray) advice = tokenwatch_token_get_advice(token);
	const gchar *path = tokenwatch_token_get_object_path(token);
	const gchar *name = tw_agent_token_name(token);
	g_autofree gchar *prefix = g_strdup_printf("advice%s/", path);
	g_auto(GStrv) records = g_key_file_get_keys(self->state, GROUP_NOTIFIED, NULL, NULL);
	gboolean changed = FALSE;

	if (!tw_agent_token_is_mine(token))
		return;

	/* advice that went away may be shown again when it comes back */
	for (guint i = 0; records != NULL && records[i] != NULL; i++) {
		const gchar *code;
		gboolean still = FALSE;

		if (!g_str_has_prefix(records[i], prefix))
			continue;
		code = records[i] + strlen(prefix);
		for (guint j = 0; advice != NULL && j < advice->len; j++)
			still |= g_strcmp0(tokenwatch_advice_get_code(advice->pdata[j]), code) == 0;
		if (!still) {
			g_key_file_remove_key(self->state, GROUP_NOTIFIED, records[i], NULL);
			changed = TRUE;
		}
	}
	if (changed)
		tw_agent_state_save(self);

	for (guint i = 0; advice != NULL && i < advice->len; i++) {
		TokenwatchAdvice *a = advice->pdata[i];
		TokenwatchAdviceSeverity severity = tokenwatch_advice_get_severity(a);
		const gchar *code = tokenwatch_advice_get_code(a);
		TwNote *note;

		if (code == NULL || g_strv_contains(tw_advice_silent, code))
			continue;
		if (severity != TOKENWATCH_ADVICE_SEVERITY_WARNING &&
		    severity != TOKENWATCH_ADVICE_SEVERITY_CRITICAL)
			continue;
		note = g_new0(TwNote, 1);
		note->key = g_strdup_printf("advice%s/%s", path, code);
		note->record = g_strdup(note->key);
		note->snoozable = TRUE;
		if (!tw_agent_advice_text(code, name, &note->summary, &note->body)) {
			note->summary = g_strdup_printf(_("Your %s needs attention"), name);
			note->body = g_strdup(tokenwatch_advice_get_text(a));
		}
		if (severity == TOKENWATCH_ADVICE_SEVERITY_CRITICAL) {
			note->urgency = TW_URGENCY_CRITICAL;
			note->icon = "dialog-error";
		} else {
			note->urgency = TW_URGENCY_NORMAL;
			note->icon = "dialog-warning";
		}
		tw_agent_post(self, note);
	}
}

static void
tw_agent_advice_changed_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	tw_agent_check_advice(TW_AGENT(user_data), TOKENWATCH_TOKEN(object));
}

static void tw_agent_schedule_catch_up(TwAgent *self);

/* a token that became this user's (Owners grew) may have warnings due */
static void
tw_agent_owners_changed_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	if (tw_agent_token_is_mine(TOKENWATCH_TOKEN(object)))
		tw_agent_schedule_catch_up(self);
}

/* a token came back, was read anew or changed hands: register it */
static void
tw_agent_token_changed_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	tw_agent_stores_schedule_sync(self->stores);
}

static void
tw_agent_connect_token(TwAgent *self, TokenwatchToken *token)
{
	/* (Owners: tw_agent_owners_changed_cb's catch-up registers too) */
	const gchar *const props[] = {"notify::present", "notify::certificate-paths",
				      "notify::module-path"};

	for (guint i = 0; i < G_N_ELEMENTS(props); i++)
		g_signal_connect_object(token, props[i], G_CALLBACK(tw_agent_token_changed_cb),
					self, G_CONNECT_DEFAULT);
	g_signal_connect_object(token, "notify::advice", G_CALLBACK(tw_agent_advice_changed_cb),
				self, G_CONNECT_DEFAULT);
	g_signal_connect_object(token, "notify::owners", G_CALLBACK(tw_agent_owners_changed_cb),
				self, G_CONNECT_DEFAULT);
}

static void
tw_agent_follow_token(TwAgent *self, TokenwatchToken *token)
{
	tw_agent_connect_token(self, token);
	tw_agent_check_advice(self, token);
}

static void
tw_agent_token_added_cb(TokenwatchClient *client, TokenwatchToken *token, gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	tw_agent_follow_token(self, token);
	tw_agent_stores_schedule_sync(self->stores);
}

/* What became due while the agent or the session was not there: a
 * certificate expiring or expired that was never shown at its level, advice
 * never shown. The daemon itself announces each threshold once only. */
static void
tw_agent_catch_up(TwAgent *self)
{
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GPtrArray) tokens = NULL;

	if (!tokenwatch_client_get_daemon_running(self->client))
		return;
	certs = tokenwatch_client_get_certificates(self->client);
	for (guint i = 0; i < certs->len; i++) {
		TokenwatchCertificate *cert = certs->pdata[i];
		TokenwatchCertificateStatus status = tokenwatch_certificate_get_status(cert);
		const gchar *sha256 = tokenwatch_certificate_get_sha256(cert);
		gint days = tokenwatch_certificate_get_days_left(cert);
		const gchar *level;
		g_autofree gchar *prefix = NULL;

		if (sha256 == NULL || (status != TOKENWATCH_CERTIFICATE_STATUS_EXPIRING &&
				       status != TOKENWATCH_CERTIFICATE_STATUS_EXPIRED))
			continue;
		level = status == TOKENWATCH_CERTIFICATE_STATUS_EXPIRED
				? "expired"
				: tw_agent_level_for_days(days);
		prefix = g_strdup_printf("%s/%s/", sha256, level);
		if (tw_agent_was_notified_prefix(self, prefix))
			continue;
		tw_agent_notify_expiry(self, cert, days, level);
	}
	tokens = tokenwatch_client_get_tokens(self->client);
	for (guint i = 0; i < tokens->len; i++)
		tw_agent_check_advice(self, tokens->pdata[i]);
	tw_agent_stores_schedule_sync(self->stores);
}

static gboolean
tw_agent_catch_up_cb(gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	self->catch_up_id = 0;
	tw_agent_catch_up(self);
	return G_SOURCE_REMOVE;
}

/* after the daemon (re)appeared, once its objects had time to come */
static void
tw_agent_schedule_catch_up(TwAgent *self)
{
	g_clear_handle_id(&self->catch_up_id, g_source_remove);
	self->catch_up_id = g_timeout_add(CATCH_UP_DELAY_MS, tw_agent_catch_up_cb, self);
}

static void
tw_agent_daemon_running_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);

	if (tokenwatch_client_get_daemon_running(self->client)) {
		g_info("tokenwatchd is running");
		tw_agent_schedule_catch_up(self);
	} else {
		g_info("tokenwatchd went away; waiting for it");
	}
}

static void
tw_agent_client_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwAgent *self = TW_AGENT(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	TokenwatchClient *client = tokenwatch_client_new_finish(res, &error);

	if (client == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_critical("Cannot follow tokenwatchd: %s", error->message);
		g_object_unref(self);
		return;
	}
	self->client = client;
	tw_agent_stores_set_client(self->stores, client);
	g_signal_connect_object(client, "expiry-warning", G_CALLBACK(tw_agent_expiry_warning_cb),
				self, G_CONNECT_DEFAULT);
	g_signal_connect_object(client, "device-certification-ending",
				G_CALLBACK(tw_agent_device_ending_cb), self, G_CONNECT_DEFAULT);
	g_signal_connect_object(client, "certificate-renewed",
				G_CALLBACK(tw_agent_certificate_renewed_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(client, "token-added", G_CALLBACK(tw_agent_token_added_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(client, "notify::daemon-running",
				G_CALLBACK(tw_agent_daemon_running_cb), self, G_CONNECT_DEFAULT);
	tokens = tokenwatch_client_get_tokens(client);
	for (guint i = 0; i < tokens->len; i++)
		tw_agent_connect_token(self, tokens->pdata[i]);
	if (tokenwatch_client_get_daemon_running(client))
		g_info("tokenwatchd is running");
	else
		g_info("tokenwatchd is not running; waiting for it");
	tw_agent_catch_up(self);
	g_object_unref(self);
}

/* --- the object ---------------------------------------------------------- */

static void
tw_agent_dispose(GObject *object)
{
	TwAgent *self = TW_AGENT(object);

	g_cancellable_cancel(self->cancellable);
	g_clear_handle_id(&self->catch_up_id, g_source_remove);
	g_clear_handle_id(&self->snooze_timer_id, g_source_remove);
	g_clear_handle_id(&self->notify_watch_id, g_bus_unwatch_name);
	if (self->action_sub_id != 0) {
		g_dbus_connection_signal_unsubscribe(self->session, self->action_sub_id);
		self->action_sub_id = 0;
	}
	g_clear_object(&self->stores);
	g_clear_object(&self->client);
	g_clear_object(&self->session);
	/* what was never shown is not remembered: the next agent shows it */
	if (!g_queue_is_empty(&self->pending)) {
		for (GList *l = self->pending.head; l != NULL; l = l->next) {
			TwNote *note = l->data;

			if (note->record != NULL)
				g_key_file_remove_key(self->state, GROUP_NOTIFIED, note->record,
						      NULL);
		}
		tw_agent_state_save(self);
	}
	g_queue_clear_full(&self->pending, (GDestroyNotify)tw_note_free);
	G_OBJECT_CLASS(tw_agent_parent_class)->dispose(object);
}

static void
tw_agent_finalize(GObject *object)
{
	TwAgent *self = TW_AGENT(object);

	g_clear_object(&self->cancellable);
	g_key_file_unref(self->state);
	g_free(self->state_path);
	g_hash_table_unref(self->ids);
	g_hash_table_unref(self->id_keys);
	g_hash_table_unref(self->snoozable_ids);
	G_OBJECT_CLASS(tw_agent_parent_class)->finalize(object);
}

static void
tw_agent_class_init(TwAgentClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_agent_dispose;
	object_class->finalize = tw_agent_finalize;
}

static void
tw_agent_init(TwAgent *self)
{
	self->cancellable = g_cancellable_new();
	self->state = g_key_file_new();
	self->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->id_keys = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	self->snoozable_ids = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_queue_init(&self->pending);
}

TwAgent *
tw_agent_new(GBusType daemon_bus_type)
{
	TwAgent *self = g_object_new(TW_TYPE_AGENT, NULL);

	g_autofree gchar *config_path = tw_agent_config_path();

	self->daemon_bus_type = daemon_bus_type;
	tw_agent_config_init(&self->config);
	tw_agent_config_load(&self->config, config_path);
	return self;
}

/* Loads what was shown, watches the notification server and starts
 * following tokenwatchd; all without blocking on either. */
void
tw_agent_start(TwAgent *self)
{
	g_return_if_fail(TW_IS_AGENT(self));

	tw_agent_state_load(self);
	tw_agent_snoozes_update(self);
	self->stores = tw_agent_stores_new(&self->config);
	tw_agent_watch_server(self);
	tokenwatch_client_new_for_bus_async(self->daemon_bus_type, self->cancellable,
					    tw_agent_client_cb, g_object_ref(self));
}
