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

#include "tw-card-events.h"
#include "tw-engine.h"
#include "tw-names.h"

struct _TwEngine {
	GObject parent_instance;
	TwPcscMonitor *monitor;
	GPtrArray *readers; /* of TwReader, in pcscd's order */
	gboolean pcsc_available;
};

G_DEFINE_TYPE(TwEngine, tw_engine, G_TYPE_OBJECT)

enum { PROP_0, PROP_PCSC_AVAILABLE, N_PROPS };
static GParamSpec *props[N_PROPS] = {NULL};

enum {
	SIGNAL_READER_ADDED,
	SIGNAL_READER_REMOVED,
	SIGNAL_CARD_INSERTED,
	SIGNAL_CARD_REMOVED,
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

static void
tw_engine_remove_reader_at(TwEngine *self, guint idx)
{
	g_autoptr(TwReader) reader = g_object_ref(g_ptr_array_index(self->readers, idx));

	g_ptr_array_remove_index(self->readers, idx);
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

			tw_reader_set_card(reader, last ? new_state : TW_CARD_STATE_PRESENT,
					   last ? atr : "");
			g_info("card inserted: %s (ATR %s)", tw_reader_get_name(reader),
			       tw_reader_get_atr(reader));
			g_signal_emit(self, signals[SIGNAL_CARD_INSERTED], 0, reader);
		} else {
			tw_reader_set_card(reader, TW_CARD_STATE_EMPTY, "");
			g_info("card removed: %s", tw_reader_get_name(reader));
			g_signal_emit(self, signals[SIGNAL_CARD_REMOVED], 0, reader);
		}
	}
	/* mute, in use, unknown, or the ATR changed without an event */
	tw_reader_set_card(reader, new_state, atr);
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
		}
	}
}

static void
tw_engine_snapshot_cb(TwPcscMonitor *monitor, gboolean available, GPtrArray *states, gpointer data)
{
	tw_engine_process_snapshot(TW_ENGINE(data), available, states);
}

gboolean
tw_engine_start(TwEngine *self, GError **error)
{
	g_return_val_if_fail(TW_IS_ENGINE(self), FALSE);
	return tw_pcsc_monitor_start(self->monitor, error);
}

void
tw_engine_stop(TwEngine *self)
{
	g_return_if_fail(TW_IS_ENGINE(self));
	tw_pcsc_monitor_stop(self->monitor);
}

/* Re-read every reader; while pcscd is away, try to reach it now. */
void
tw_engine_refresh(TwEngine *self)
{
	g_return_if_fail(TW_IS_ENGINE(self));
	tw_pcsc_monitor_resync(self->monitor);
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

	g_return_val_if_fail(TW_IS_ENGINE(self), NULL);
	if (!self->pcsc_available)
		return g_strdup("pcscd not available, waiting for it");
	n_readers = self->readers->len;
	n_cards = tw_engine_count_cards(self);
	return g_strdup_printf("%u %s, %u %s", n_readers, n_readers == 1 ? "reader" : "readers",
			       n_cards, n_cards == 1 ? "card" : "cards");
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

	if (self->monitor != NULL) {
		tw_pcsc_monitor_stop(self->monitor);
		g_signal_handlers_disconnect_by_data(self->monitor, self);
		g_clear_object(&self->monitor);
	}
	if (self->readers != NULL)
		g_ptr_array_set_size(self->readers, 0);
	G_OBJECT_CLASS(tw_engine_parent_class)->dispose(object);
}

static void
tw_engine_finalize(GObject *object)
{
	TwEngine *self = TW_ENGINE(object);

	g_ptr_array_unref(self->readers);
	G_OBJECT_CLASS(tw_engine_parent_class)->finalize(object);
}

static void
tw_engine_init(TwEngine *self)
{
	self->readers = g_ptr_array_new_with_free_func(g_object_unref);
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
	signals[SIGNAL_CARD_REMOVED] =
		g_signal_new("card-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_READER);
}

TwEngine *
tw_engine_new(void)
{
	return g_object_new(TW_TYPE_ENGINE, NULL);
}
