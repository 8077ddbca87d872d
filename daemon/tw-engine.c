/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The engine: what tokenwatch knows, without D-Bus. It turns the PC/SC
 * worker's snapshots into readers and events; the adaptor in tw-daemon.c
 * shows them on the bus.
 */
#define G_LOG_DOMAIN "TwEngine"

#include "config.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <systemd/sd-login.h>

#include "tw-card-events.h"
#include "tw-engine.h"
#include "tw-keeper.h"
#include "tw-names.h"

struct _TwEngine {
	GObject parent_instance;
	TwConfig *config;
	TwPcscMonitor *monitor;
	GPtrArray *readers; /* of TwReader, in pcscd's order */
	gboolean pcsc_available;

	TwP11 *p11;
	gboolean p11_ready;
	gboolean scan_pending; /* a scan of every slot waits for the modules */
	gboolean scan_running; /* a scan is under way ... */
	gboolean scan_queued;  /* ... and another was asked for meanwhile */
	TwTokenSet *tokens;
	GCancellable *cancellable;
	TwClock *clock;
	TwDevices *devices;
	TwTracker *tracker;
	TwKeeper *keeper;
	/* reader name → generation: bumped on each card event (insertion and
	 * removal), so that a read that started before the card changed is
	 * dropped when it ends */
	GHashTable *generations;
	/* sessions coming and going on seat0: the present tokens gain owners */
	sd_login_monitor *login_monitor;
	guint login_watch_id;
	GFileMonitor *test_sessions_monitor; /* TOKENWATCH_TEST_SESSIONS_FILE */
};

G_DEFINE_TYPE(TwEngine, tw_engine, G_TYPE_OBJECT)

enum { PROP_0, PROP_PCSC_AVAILABLE, N_PROPS };
static GParamSpec *props[N_PROPS] = {NULL};

enum {
	SIGNAL_READER_ADDED,
	SIGNAL_READER_REMOVED,
	SIGNAL_CARD_INSERTED,
	SIGNAL_CARD_REMOVED,
	SIGNAL_EXPIRY_WARNING,
	SIGNAL_DEVICE_ENDING,
	SIGNAL_RENEWED,
	SIGNAL_CONFIG_RELOADED,
	N_SIGNALS
};
static guint signals[N_SIGNALS] = {0};

static TwReader *
tw_engine_find_reader(TwEngine *self, const gchar *pcsc_name)
{
	for (guint i = 0; i < self->readers->len; i++) {
		TwReader *reader = g_ptr_array_index(self->readers, i);

		if (g_strcmp0(tw_reader_get_pcsc_name(reader), pcsc_name) == 0)
			return reader;
	}
	return NULL;
}

static guint
tw_engine_bump_generation(TwEngine *self, const gchar *reader_name)
{
	guint gen = GPOINTER_TO_UINT(g_hash_table_lookup(self->generations, reader_name)) + 1;

	g_hash_table_insert(self->generations, g_strdup(reader_name), GUINT_TO_POINTER(gen));
	return gen;
}

static guint
tw_engine_get_generation(TwEngine *self, const gchar *reader_name)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(self->generations, reader_name));
}

static void tw_engine_read(TwEngine *self, TwReader *reader);

/* the card in @reader went, or the reader did: its tokens go, and a read
 * under way is dropped when it ends */
static void
tw_engine_forget_card(TwEngine *self, TwReader *reader)
{
	tw_engine_bump_generation(self, tw_reader_get_pcsc_name(reader));
	tw_token_set_drop_scope(self->tokens, tw_reader_get_pcsc_name(reader));
}

static void
tw_engine_remove_reader_at(TwEngine *self, guint idx)
{
	g_autoptr(TwReader) reader = g_object_ref(g_ptr_array_index(self->readers, idx));

	g_ptr_array_remove_index(self->readers, idx);
	tw_engine_forget_card(self, reader);
	g_info("reader removed: %s", tw_reader_get_name(reader));
	g_signal_emit(self, signals[SIGNAL_READER_REMOVED], 0, reader);
}

static void
tw_engine_set_pcsc_available(TwEngine *self, gboolean available)
{
	if (self->pcsc_available == available)
		return;
	self->pcsc_available = available;
	g_message("pcscd %s", available ? "connected" : "not available");
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PCSC_AVAILABLE]);
}

/* Bring one known reader to the state pcscd reports, emitting every
 * insertion and removal pcscd counted on the way (tw_card_transitions()). */
static void
tw_engine_update_reader(TwEngine *self, TwReader *reader, const TwPcscReaderState *state)
{
	TwCardState new_state = tw_card_state_from_pcsc(state->state);
	gboolean old_present = tw_reader_get_card_present(reader);
	gboolean new_present = tw_card_state_is_present(new_state);
	guint16 new_counter = (guint16)(state->state >> 16);
	g_autofree gchar *atr = tw_names_hex(state->atr, new_present ? state->atr_len : 0);
	guint16 counter = tw_reader_get_pcsc_counter(reader);
	guint n = tw_card_transitions(old_present, &counter, new_present, new_counter);

	tw_reader_set_pcsc_counter(reader, counter);
	if (n > 1)
		g_info("%s: %u card events since the last look", tw_reader_get_name(reader), n);
	for (guint i = 0; i < n; i++) {
		/* transitions alternate; the last one lands on the state seen now */
		gboolean inserted = ((n - i) % 2 == 1) ? new_present : !new_present;

		tw_reader_add_events(reader, 1);
		if (inserted) {
			gboolean last = (i == n - 1);

			/* a read under way (a scan) began before this card came: its
			 * picture of the reader is out of date */
			tw_engine_bump_generation(self, tw_reader_get_pcsc_name(reader));
			tw_reader_set_card(reader, last ? new_state : TW_CARD_STATE_PRESENT,
					   last ? atr : "");
			g_info("card inserted: %s (ATR %s)", tw_reader_get_name(reader),
			       tw_reader_get_atr(reader));
			g_signal_emit(self, signals[SIGNAL_CARD_INSERTED], 0, reader);
		} else {
			tw_reader_set_card(reader, TW_CARD_STATE_EMPTY, "");
			g_info("card removed: %s", tw_reader_get_name(reader));
			g_signal_emit(self, signals[SIGNAL_CARD_REMOVED], 0, reader);
			/* then what was on it */
			tw_engine_forget_card(self, reader);
		}
	}
	/* mute, in use, unknown, or the ATR changed without an event */
	tw_reader_set_card(reader, new_state, atr);
	/* a card that stays in is read once, after its last insertion */
	if (n > 0 && new_present)
		tw_engine_read(self, reader);
}

/**
 * tw_engine_process_snapshot:
 * @available: whether pcscd is connected
 * @states: (element-type TwPcscReaderState): every reader pcscd has
 *
 * Readers missing from @states are removed, new ones added with the state
 * they have (a card already in a new reader is no insertion event), and
 * known ones updated.
 */
void
tw_engine_process_snapshot(TwEngine *self, gboolean available, GPtrArray *states)
{
	g_return_if_fail(TW_IS_ENGINE(self));

	for (guint i = self->readers->len; i > 0; i--) {
		TwReader *reader = g_ptr_array_index(self->readers, i - 1);
		gboolean found = FALSE;

		for (guint j = 0; available && states != NULL && j < states->len; j++) {
			const TwPcscReaderState *state = g_ptr_array_index(states, j);

			if (g_strcmp0(state->name, tw_reader_get_pcsc_name(reader)) == 0) {
				found = TRUE;
				break;
			}
		}
		if (!found)
			tw_engine_remove_reader_at(self, i - 1);
	}
	tw_engine_set_pcsc_available(self, available);
	if (!available || states == NULL)
		return;

	for (guint j = 0; j < states->len; j++) {
		const TwPcscReaderState *state = g_ptr_array_index(states, j);
		TwReader *reader = tw_engine_find_reader(self, state->name);

		if (reader != NULL) {
			tw_engine_update_reader(self, reader, state);
		} else {
			TwCardState card_state = tw_card_state_from_pcsc(state->state);
			gboolean present = tw_card_state_is_present(card_state);
			g_autofree gchar *atr =
				tw_names_hex(state->atr, present ? state->atr_len : 0);

			reader = tw_reader_new(state->name);
			tw_reader_set_card(reader, card_state, atr);
			tw_reader_set_pcsc_counter(reader, (guint16)(state->state >> 16));
			g_ptr_array_add(self->readers, reader);
			g_info("reader added: %s (%s)", tw_reader_get_name(reader),
			       tw_card_state_to_string(card_state));
			g_signal_emit(self, signals[SIGNAL_READER_ADDED], 0, reader);
			if (present)
				tw_engine_read(self, reader);
		}
	}
}

/* One read of PKCS#11 slots: of one reader, or of every slot (a scan). */
typedef struct {
	TwEngine *self;
	gchar *reader_name;	 /* NULL for a scan */
	GHashTable *generations; /* reader name → generation when the read began */
} TwEngineRead;

static void
tw_engine_read_free(TwEngineRead *read)
{
	g_object_unref(read->self);
	g_free(read->reader_name);
	g_hash_table_unref(read->generations);
	g_free(read);
}

static TwReader *
tw_engine_find_reader_with_card(TwEngine *self, const gchar *pcsc_name)
{
	TwReader *reader = tw_engine_find_reader(self, pcsc_name);

	return reader != NULL && tw_reader_get_card_present(reader) ? reader : NULL;
}

/* the card in this reader is still the one the read began with */
static gboolean
tw_engine_read_current(TwEngine *self, TwEngineRead *read, const gchar *reader_name)
{
	gpointer gen;

	if (!g_hash_table_lookup_extended(read->generations, reader_name, NULL, &gen))
		return FALSE;
	return GPOINTER_TO_UINT(gen) == tw_engine_get_generation(self, reader_name) &&
	       tw_engine_find_reader_with_card(self, reader_name) != NULL;
}

static GPtrArray *
tw_engine_new_token_array(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free);
}

static void
tw_engine_apply_scan(TwEngine *self, TwEngineRead *read, TwTokenRead *result, gint64 now)
{
	g_autoptr(GHashTable) groups = tw_token_read_split(result);
	g_autoptr(TwTokenRead) readerless = tw_token_read_new(tw_engine_new_token_array());
	GHashTableIter iter;
	gpointer key, value;

	/* tokens in slots named after a reader with a card belong to it ... */
	for (guint i = 0; i < self->readers->len; i++) {
		const gchar *name = tw_reader_get_pcsc_name(g_ptr_array_index(self->readers, i));
		TwTokenRead *group = g_hash_table_lookup(groups, name);
		g_autoptr(TwTokenRead) empty = NULL;

		if (!tw_engine_read_current(self, read, name))
			continue;
		if (group == NULL)
			group = empty = tw_token_read_new(tw_engine_new_token_array());
		tw_token_set_reconcile(self->tokens, name, group, now);
		g_hash_table_remove(groups, name);
	}
	/* ... the others to no reader (SoftHSM and the like) */
	g_hash_table_iter_init(&iter, groups);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		TwTokenRead *group = value;

		if (tw_engine_find_reader(self, key) != NULL)
			continue; /* a reader whose card changed during the scan */
		for (guint i = 0; i < group->tokens->len; i++) {
			g_ptr_array_add(readerless->tokens,
					g_steal_pointer(&group->tokens->pdata[i]));
			g_ptr_array_add(readerless->certs,
					g_steal_pointer(&group->certs->pdata[i]));
		}
		g_ptr_array_set_size(group->tokens, 0);
		g_ptr_array_set_size(group->certs, 0);
	}
	tw_token_set_reconcile(self->tokens, "", readerless, now);
}

/**
 * tw_engine_active_uids:
 *
 * The users whose session is active on seat0 now (sd-login): the owners of
 * a token seen now. TOKENWATCH_TEST_SESSION_UIDS (a comma-separated list), or
 * the file TOKENWATCH_TEST_SESSIONS_FILE names (the same list, followed as it
 * changes), stands in for logind in tests.
 *
 * Returns: (transfer full) (element-type guint32)
 */
static GArray *
tw_engine_active_uids(void)
{
	GArray *uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	const gchar *test = g_getenv("TOKENWATCH_TEST_SESSION_UIDS");
	const gchar *test_file = g_getenv("TOKENWATCH_TEST_SESSIONS_FILE");
	g_autofree gchar *test_contents = NULL;
	char **sessions = NULL;
	int n;

	if (test_file != NULL) {
		if (!g_file_get_contents(test_file, &test_contents, NULL, NULL))
			return uids;
		test = test_contents;
	}
	if (test != NULL) {
		g_auto(GStrv) parts = g_strsplit(test, ",", -1);

		for (guint i = 0; parts[i] != NULL; i++) {
			guint64 uid = 0;

			if (g_ascii_string_to_unsigned(g_strstrip(parts[i]), 10, 0, G_MAXUINT32,
						       &uid, NULL)) {
				guint32 u = (guint32)uid;

				g_array_append_val(uids, u);
			}
		}
		return uids;
	}
	n = sd_seat_get_sessions("seat0", &sessions, NULL, NULL);
	for (int i = 0; i < n; i++) {
		uid_t uid;

		if (sd_session_is_active(sessions[i]) > 0 &&
		    sd_session_get_uid(sessions[i], &uid) >= 0) {
			guint32 u = (guint32)uid;

			g_array_append_val(uids, u);
		}
		free(sessions[i]);
	}
	free(sessions);
	return uids;
}

/* the users of the active sessions become owners of every token present in
 * a reader (and, after a read, the cards' ATRs go on their tokens) */
static void
tw_engine_update_present(TwEngine *self, gboolean set_atr)
{
	g_autoptr(GArray) uids = tw_engine_active_uids();

	for (guint i = 0; i < self->readers->len; i++) {
		TwReader *reader = g_ptr_array_index(self->readers, i);
		g_autoptr(GPtrArray) tokens = NULL;

		if (!tw_reader_get_card_present(reader))
			continue;
		tokens = tw_token_set_get_tokens_in(self->tokens, tw_reader_get_pcsc_name(reader));
		for (guint j = 0; j < tokens->len; j++) {
			TwToken *token = g_ptr_array_index(tokens, j);

			if (!tw_token_get_present(token))
				continue;
			if (set_atr)
				tw_token_set_atr(token, tw_reader_get_atr(reader));
			tw_token_add_owners(token, uids);
		}
	}
}

/* after a read: the cards' ATRs on their tokens (for the device data), the
 * users it is seen with, then every deadline */
static void
tw_engine_after_read(TwEngine *self)
{
	tw_engine_update_present(self, TRUE);
	if (self->tracker != NULL)
		tw_tracker_evaluate(self->tracker);
}

/* a session started, ended or became active (a user switch): a token in a
 * reader now is seen by that user too */
static gboolean
tw_engine_login_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	TwEngine *self = TW_ENGINE(user_data);

	sd_login_monitor_flush(self->login_monitor);
	tw_engine_update_present(self, FALSE);
	return G_SOURCE_CONTINUE;
}

static void
tw_engine_test_sessions_cb(GFileMonitor *monitor,
			   GFile *file,
			   GFile *other,
			   GFileMonitorEvent event,
			   gpointer user_data)
{
	if (event == G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT ||
	    event == G_FILE_MONITOR_EVENT_CREATED || event == G_FILE_MONITOR_EVENT_MOVED_IN ||
	    event == G_FILE_MONITOR_EVENT_RENAMED)
		tw_engine_update_present(TW_ENGINE(user_data), FALSE);
}

static void
tw_engine_watch_sessions(TwEngine *self)
{
	const gchar *test_file = g_getenv("TOKENWATCH_TEST_SESSIONS_FILE");
	int r;

	if (test_file != NULL) {
		g_autoptr(GFile) file = g_file_new_for_path(test_file);
		g_autoptr(GError) error = NULL;

		self->test_sessions_monitor =
			g_file_monitor_file(file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
		if (self->test_sessions_monitor == NULL) {
			g_warning("cannot watch %s: %s", test_file, error->message);
			return;
		}
		g_signal_connect(self->test_sessions_monitor, "changed",
				 G_CALLBACK(tw_engine_test_sessions_cb), self);
		return;
	}
	if (g_getenv("TOKENWATCH_TEST_SESSION_UIDS") != NULL)
		return;
	r = sd_login_monitor_new("session", &self->login_monitor);
	if (r < 0) {
		g_info("not following login sessions: %s", g_strerror(-r));
		return;
	}
	self->login_watch_id = g_unix_fd_add(sd_login_monitor_get_fd(self->login_monitor), G_IO_IN,
					     tw_engine_login_cb, self);
}

static void
tw_engine_parse_thread_cb(GTask *task, gpointer source, gpointer task_data, GCancellable *c)
{
	GPtrArray *tokens = task_data;

	g_task_return_pointer(task, tw_token_read_new(g_ptr_array_ref(tokens)),
			      (GDestroyNotify)tw_token_read_free);
}

/* A read ends. Scans asked for while one ran were folded into one: run it
 * now (a flood of Refresh calls costs one scan more, not one each). */
static void
tw_engine_read_done(TwEngineRead *read)
{
	TwEngine *self = g_object_ref(read->self);
	gboolean scan = read->reader_name == NULL;

	tw_engine_read_free(read);
	if (scan) {
		self->scan_running = FALSE;
		if (self->scan_queued && !g_cancellable_is_cancelled(self->cancellable)) {
			self->scan_queued = FALSE;
			tw_engine_read(self, NULL);
		}
	}
	g_object_unref(self);
}

static void
tw_engine_parsed_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwEngineRead *read = user_data;
	TwEngine *self = read->self;
	g_autoptr(TwTokenRead) result = g_task_propagate_pointer(G_TASK(res), NULL);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (result == NULL || g_cancellable_is_cancelled(self->cancellable)) {
		tw_engine_read_done(read);
		return;
	}
	if (read->reader_name == NULL) {
		tw_engine_apply_scan(self, read, g_steal_pointer(&result), now);
		tw_engine_after_read(self);
	} else if (tw_engine_read_current(self, read, read->reader_name)) {
		tw_token_set_reconcile(self->tokens, read->reader_name, result, now);
		tw_engine_after_read(self);
	} else {
		g_debug("dropping a read of %s: its card changed meanwhile", read->reader_name);
	}
	tw_engine_read_done(read);
}

static void
tw_engine_read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwEngineRead *read = user_data;
	TwEngine *self = read->self;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tokens = tw_p11_read_finish(TW_P11(source), res, &error);
	g_autoptr(GTask) task = NULL;

	if (tokens == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_warning("reading %s: %s",
				  read->reader_name != NULL ? read->reader_name : "all tokens",
				  error->message);
			if (read->reader_name != NULL &&
			    tw_engine_read_current(self, read, read->reader_name))
				tw_token_set_mark_error(self->tokens, read->reader_name,
							error->message);
		}
		tw_engine_read_done(read);
		return;
	}
	/* parsing many certificates takes a while: not on the main loop */
	task = g_task_new(self, self->cancellable, tw_engine_parsed_cb, read);
	g_task_set_source_tag(task, tw_engine_read_cb);
	g_task_set_task_data(task, g_steal_pointer(&tokens), (GDestroyNotify)g_ptr_array_unref);
	g_task_run_in_thread(task, tw_engine_parse_thread_cb);
}

/* Read the tokens of one reader's card, or of every slot (@reader NULL). */
static void
tw_engine_read(TwEngine *self, TwReader *reader)
{
	TwEngineRead *read;

	if (!self->p11_ready) {
		/* the scan after loading the modules finds this card too */
		self->scan_pending = TRUE;
		return;
	}
	if (reader == NULL) {
		if (self->scan_running) {
			self->scan_queued = TRUE;
			return;
		}
		self->scan_running = TRUE;
	}
	read = g_new0(TwEngineRead, 1);
	read->self = g_object_ref(self);
	read->reader_name = reader != NULL ? g_strdup(tw_reader_get_pcsc_name(reader)) : NULL;
	read->generations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < self->readers->len; i++) {
		const gchar *name = tw_reader_get_pcsc_name(g_ptr_array_index(self->readers, i));

		if (reader == NULL || g_strcmp0(name, read->reader_name) == 0)
			g_hash_table_insert(read->generations, g_strdup(name),
					    GUINT_TO_POINTER(tw_engine_get_generation(self, name)));
	}
	tw_p11_read_async(self->p11, read->reader_name, self->cancellable, tw_engine_read_cb, read);
}

static void
tw_engine_p11_loaded_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwEngine *self = TW_ENGINE(user_data);
	g_autoptr(GError) error = NULL;

	if (!tw_p11_load_finish(TW_P11(source), res, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_warning("no PKCS#11 module could be loaded: %s; tokens will not be read",
				  error->message);
		g_object_unref(self);
		return;
	}
	self->p11_ready = TRUE;
	self->scan_pending = FALSE;
	tw_engine_read(self, NULL);
	g_object_unref(self);
}

static void
tw_engine_snapshot_cb(TwPcscMonitor *monitor, gboolean available, GPtrArray *states, gpointer data)
{
	tw_engine_process_snapshot(TW_ENGINE(data), available, states);
}

/* the tracker's news, passed on */
static void
tw_engine_expiry_warning_cb(
	TwTracker *tracker, TwCertificate *cert, gint days, const gchar *level, gpointer user_data)
{
	g_signal_emit(TW_ENGINE(user_data), signals[SIGNAL_EXPIRY_WARNING], 0, cert, days, level);
}

static void
tw_engine_device_ending_cb(TwTracker *tracker, TwToken *token, gint days, gpointer user_data)
{
	g_signal_emit(TW_ENGINE(user_data), signals[SIGNAL_DEVICE_ENDING], 0, token, days);
}

static void
tw_engine_renewed_cb(TwTracker *tracker, TwCertificate *old, TwCertificate *new, gpointer user_data)
{
	g_signal_emit(TW_ENGINE(user_data), signals[SIGNAL_RENEWED], 0, old, new);
}

/* the device data directories of @config: the shipped data, then local entries */
static TwDevices *
tw_engine_load_devices(TwConfig *config)
{
	TwDevices *devices = tw_devices_new();
	const gchar *data = tw_config_get_devices_data_dir(config);
	const gchar *local = tw_config_get_devices_local_dir(config);
	const gchar *dirs[] = {data != NULL ? data : tw_devices_default_data_dir(),
			       local != NULL ? local : tw_devices_default_local_dir(), NULL};
	g_autoptr(GError) error = NULL;

	/* not strict: a broken local entry is skipped with a warning */
	if (!tw_devices_load(devices, dirs, FALSE, &error))
		g_warning("loading the device data: %s", error->message);
	g_info("%u device entries", tw_devices_get_count(devices));
	return devices;
}

/**
 * tw_engine_reload:
 *
 * Reads the configuration file and the device data again (SIGHUP,
 * ReloadConfig()). The warning thresholds and the device data take effect
 * at once; the PKCS#11 settings at the next start. An invalid file changes
 * nothing.
 */
gboolean
tw_engine_reload(TwEngine *self, GError **error)
{
	g_autoptr(TwConfig) config = tw_config_new();

	g_return_val_if_fail(TW_IS_ENGINE(self), FALSE);
	if (!tw_config_load(config, tw_config_get_requested_path(self->config), error))
		return FALSE;
	tw_config_set_state_dir(config, tw_config_get_state_dir(self->config));
	g_clear_object(&self->devices);
	self->devices = tw_engine_load_devices(config);
	if (self->tracker != NULL) {
		tw_tracker_set_config(self->tracker, config, self->devices);
		tw_tracker_evaluate(self->tracker);
	}
	g_signal_emit(self, signals[SIGNAL_CONFIG_RELOADED], 0, config);
	g_message("configuration and device data reloaded");
	return TRUE;
}

/* Forget a token; FALSE if there is no such token. */
gboolean
tw_engine_forget(TwEngine *self, const gchar *token_id)
{
	gboolean found;

	g_return_val_if_fail(TW_IS_ENGINE(self), FALSE);
	found = tw_token_set_forget(self->tokens, token_id);
	if (found && self->tracker != NULL)
		tw_tracker_evaluate(self->tracker);
	return found;
}

/* Unix seconds, as deadlines count them (the tests can move it) */
/* the configuration read at start (reloads: the config-reloaded signal) */
TwConfig *
tw_engine_get_config(TwEngine *self)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), NULL);
	return self->config;
}

gint64
tw_engine_now(TwEngine *self)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), 0);
	return self->clock != NULL ? tw_clock_now(self->clock) : g_get_real_time() / G_USEC_PER_SEC;
}

TwTracker *
tw_engine_get_tracker(TwEngine *self)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), NULL);
	return self->tracker;
}

/**
 * tw_engine_prepare:
 *
 * Everything before the bus: the clock, the device data, and what the state
 * remembers. Call before the adaptor attaches the bus: the remembered
 * objects are then simply there when it does, with no announcement each.
 */
gboolean
tw_engine_prepare(TwEngine *self, GError **error)
{
	const gchar *dir;
	g_autoptr(TwStore) store = NULL;

	g_return_val_if_fail(TW_IS_ENGINE(self), FALSE);
	g_return_val_if_fail(self->clock == NULL, FALSE);

	self->clock = tw_clock_new(error);
	if (self->clock == NULL)
		return FALSE;
	tw_clock_watch_sleep(self->clock);
	self->devices = tw_engine_load_devices(self->config);
	self->tracker = tw_tracker_new(self->tokens, self->clock);
	g_signal_connect(self->tracker, "expiry-warning", G_CALLBACK(tw_engine_expiry_warning_cb),
			 self);
	g_signal_connect(self->tracker, "device-certification-ending",
			 G_CALLBACK(tw_engine_device_ending_cb), self);
	g_signal_connect(self->tracker, "certificate-renewed", G_CALLBACK(tw_engine_renewed_cb),
			 self);
	tw_tracker_set_config(self->tracker, self->config, self->devices);
	/* what was remembered comes back before anything is read */
	dir = tw_config_get_state_dir(self->config);
	store = tw_store_new(dir != NULL ? dir : tw_store_default_directory(FALSE));
	g_info("state in %s", tw_store_get_directory(store));
	self->keeper = tw_keeper_new(self->tokens, store);
	tw_keeper_restore(self->keeper);
	return TRUE;
}

/**
 * tw_engine_start:
 *
 * Starts watching, once the bus name is ours: what became due while the
 * daemon was away is announced now, then readers and tokens are read.
 */
gboolean
tw_engine_start(TwEngine *self, GError **error)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), FALSE);

	if (self->clock == NULL && !tw_engine_prepare(self, error))
		return FALSE;
	tw_tracker_watch_renewals(self->tracker);
	tw_tracker_evaluate(self->tracker);
	tw_engine_watch_sessions(self);

	/* vendor modules in helper processes, unless told otherwise */
	self->p11 = (tw_config_get_isolate_modules(self->config) ? tw_p11_new_isolated
								 : tw_p11_new)(
		tw_config_get_use_p11_kit(self->config), tw_config_get_modules(self->config),
		tw_config_get_token_timeout_ms(self->config));
	tw_p11_load_async(self->p11, self->cancellable, tw_engine_p11_loaded_cb,
			  g_object_ref(self));
	return tw_pcsc_monitor_start(self->monitor, error);
}

void
tw_engine_stop(TwEngine *self)
{
	g_return_if_fail(TW_IS_ENGINE(self));
	g_cancellable_cancel(self->cancellable);
	tw_pcsc_monitor_stop(self->monitor);
	if (self->p11 != NULL)
		tw_p11_shutdown(self->p11);
	/* what changed last is written before we go */
	if (self->keeper != NULL)
		tw_keeper_flush(self->keeper, 5000);
}

/* Re-read every reader and every token; while pcscd is away, try to reach it now. */
void
tw_engine_refresh(TwEngine *self)
{
	g_return_if_fail(TW_IS_ENGINE(self));
	tw_pcsc_monitor_resync(self->monitor);
	if (self->p11 != NULL)
		tw_engine_read(self, NULL);
}

TwTokenSet *
tw_engine_get_token_set(TwEngine *self)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), NULL);
	return self->tokens;
}

/* the reader a token is in now, NULL if none */
TwReader *
tw_engine_get_token_reader(TwEngine *self, TwToken *token)
{
	const gchar *scope;

	g_return_val_if_fail(TW_IS_ENGINE(self), NULL);
	scope = tw_token_set_get_scope(self->tokens, token);
	return scope != NULL && *scope != '\0' ? tw_engine_find_reader(self, scope) : NULL;
}

gboolean
tw_engine_get_pcsc_available(TwEngine *self)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), FALSE);
	return self->pcsc_available;
}

/* Returns: (transfer none) (element-type TwReader) */
GPtrArray *
tw_engine_get_readers(TwEngine *self)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), NULL);
	return self->readers;
}

guint
tw_engine_count_cards(TwEngine *self)
{
	guint n = 0;

	g_return_val_if_fail(TW_IS_ENGINE(self), 0);
	for (guint i = 0; i < self->readers->len; i++)
		n += tw_reader_get_card_present(g_ptr_array_index(self->readers, i)) ? 1 : 0;
	return n;
}

/* One line for people: systemd's STATUS= and the log. */
gchar *
tw_engine_describe(TwEngine *self)
{
	guint n_readers;
	guint n_cards;
	guint n_tokens;
	guint n_certs;
	g_autoptr(GPtrArray) tokens = NULL;

	g_return_val_if_fail(TW_IS_ENGINE(self), NULL);
	if (!self->pcsc_available)
		return g_strdup("pcscd not available, waiting for it");
	n_readers = self->readers->len;
	n_cards = tw_engine_count_cards(self);
	tokens = tw_token_set_get_tokens(self->tokens);
	n_tokens = tokens->len;
	n_certs = tw_token_set_count_certificates(self->tokens);
	return g_strdup_printf("%u %s, %u %s, %u %s, %u %s", n_readers,
			       n_readers == 1 ? "reader" : "readers", n_cards,
			       n_cards == 1 ? "card" : "cards", n_tokens,
			       n_tokens == 1 ? "token" : "tokens", n_certs,
			       n_certs == 1 ? "certificate" : "certificates");
}

gint64
tw_engine_get_worker_busy_usec(TwEngine *self)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), 0);
	return tw_pcsc_monitor_get_busy_usec(self->monitor);
}

static void
tw_engine_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	TwEngine *self = TW_ENGINE(object);

	switch (prop_id) {
	case PROP_PCSC_AVAILABLE:
		g_value_set_boolean(value, self->pcsc_available);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
tw_engine_dispose(GObject *object)
{
	TwEngine *self = TW_ENGINE(object);

	g_cancellable_cancel(self->cancellable);
	g_clear_handle_id(&self->login_watch_id, g_source_remove);
	g_clear_pointer(&self->login_monitor, sd_login_monitor_unref);
	if (self->test_sessions_monitor != NULL) {
		g_signal_handlers_disconnect_by_data(self->test_sessions_monitor, self);
		g_clear_object(&self->test_sessions_monitor);
	}
	if (self->monitor != NULL) {
		tw_pcsc_monitor_stop(self->monitor);
		g_signal_handlers_disconnect_by_data(self->monitor, self);
		g_clear_object(&self->monitor);
	}
	if (self->p11 != NULL) {
		tw_p11_shutdown(self->p11);
		g_clear_object(&self->p11);
	}
	if (self->readers != NULL)
		g_ptr_array_set_size(self->readers, 0);
	g_clear_object(&self->keeper);
	g_clear_object(&self->tracker);
	g_clear_object(&self->clock);
	g_clear_object(&self->devices);
	g_clear_object(&self->tokens);
	g_clear_object(&self->config);
	G_OBJECT_CLASS(tw_engine_parent_class)->dispose(object);
}

static void
tw_engine_finalize(GObject *object)
{
	TwEngine *self = TW_ENGINE(object);

	g_ptr_array_unref(self->readers);
	g_hash_table_unref(self->generations);
	g_object_unref(self->cancellable);
	G_OBJECT_CLASS(tw_engine_parent_class)->finalize(object);
}

static void
tw_engine_init(TwEngine *self)
{
	self->readers = g_ptr_array_new_with_free_func(g_object_unref);
	self->tokens = tw_token_set_new();
	self->cancellable = g_cancellable_new();
	self->generations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->monitor = tw_pcsc_monitor_new();
	g_signal_connect(self->monitor, "snapshot", G_CALLBACK(tw_engine_snapshot_cb), self);
}

static void
tw_engine_class_init(TwEngineClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = tw_engine_get_property;
	object_class->dispose = tw_engine_dispose;
	object_class->finalize = tw_engine_finalize;

	props[PROP_PCSC_AVAILABLE] = g_param_spec_boolean(
		"pcsc-available", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, props);

	signals[SIGNAL_READER_ADDED] =
		g_signal_new("reader-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_READER);
	signals[SIGNAL_READER_REMOVED] =
		g_signal_new("reader-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_READER);
	signals[SIGNAL_CARD_INSERTED] =
		g_signal_new("card-inserted", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_READER);
	signals[SIGNAL_EXPIRY_WARNING] = g_signal_new(
		"expiry-warning", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
		G_TYPE_NONE, 3, TW_TYPE_CERTIFICATE, G_TYPE_INT, G_TYPE_STRING);
	signals[SIGNAL_DEVICE_ENDING] = g_signal_new(
		"device-certification-ending", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
		NULL, NULL, G_TYPE_NONE, 2, TW_TYPE_TOKEN, G_TYPE_INT);
	signals[SIGNAL_RENEWED] = g_signal_new("certificate-renewed", G_TYPE_FROM_CLASS(klass),
					       G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
					       2, TW_TYPE_CERTIFICATE, TW_TYPE_CERTIFICATE);
	signals[SIGNAL_CARD_REMOVED] =
		g_signal_new("card-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_READER);
	/* the settings that take effect at once: those of @config */
	signals[SIGNAL_CONFIG_RELOADED] =
		g_signal_new("config-reloaded", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
			     NULL, NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_CONFIG);
}

/**
 * tw_engine_new:
 * @config: (nullable): the configuration; NULL for the defaults
 */
TwEngine *
tw_engine_new(TwConfig *config)
{
	TwEngine *self = g_object_new(TW_TYPE_ENGINE, NULL);

	self->config = config != NULL ? g_object_ref(config) : tw_config_new();
	return self;
}
