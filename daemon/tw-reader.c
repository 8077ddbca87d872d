/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A PC/SC reader as the engine knows it. No D-Bus here: the adaptor mirrors
 * these properties onto its skeletons.
 */
#define G_LOG_DOMAIN "TwReader"

#include "config.h"

#include "tw-names.h"
#include "tw-reader.h"

/* pcsc-lite's MAX_READERNAME is 128 bytes; keep a margin for odd drivers */
#define TW_READER_NAME_MAX_CHARS 256

struct _TwReader {
	GObject parent_instance;
	gchar *pcsc_name; /* as pcscd gave it, the key for SCardGetStatusChange */
	gchar *name;	  /* valid UTF-8 for people and D-Bus */
	TwCardState card_state;
	gchar *atr;
	guint event_count;
	guint16 pcsc_counter;
};

G_DEFINE_TYPE(TwReader, tw_reader, G_TYPE_OBJECT)

enum { PROP_0, PROP_PCSC_NAME, PROP_NAME, PROP_CARD_STATE, PROP_ATR, PROP_EVENT_COUNT, N_PROPS };
static GParamSpec *props[N_PROPS] = {NULL};

static void
tw_reader_finalize(GObject *object)
{
	TwReader *self = TW_READER(object);

	g_free(self->pcsc_name);
	g_free(self->name);
	g_free(self->atr);
	G_OBJECT_CLASS(tw_reader_parent_class)->finalize(object);
}

static void
tw_reader_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	TwReader *self = TW_READER(object);

	switch (prop_id) {
	case PROP_PCSC_NAME:
		g_value_set_string(value, self->pcsc_name);
		break;
	case PROP_NAME:
		g_value_set_string(value, self->name);
		break;
	case PROP_CARD_STATE:
		g_value_set_uint(value, self->card_state);
		break;
	case PROP_ATR:
		g_value_set_string(value, self->atr);
		break;
	case PROP_EVENT_COUNT:
		g_value_set_uint(value, self->event_count);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
tw_reader_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
	TwReader *self = TW_READER(object);

	switch (prop_id) {
	case PROP_PCSC_NAME:
		self->pcsc_name = g_value_dup_string(value);
		self->name = tw_names_make_display(self->pcsc_name, TW_READER_NAME_MAX_CHARS);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
tw_reader_init(TwReader *self)
{
	self->card_state = TW_CARD_STATE_UNKNOWN;
	self->atr = g_strdup("");
}

static void
tw_reader_class_init(TwReaderClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->finalize = tw_reader_finalize;
	object_class->get_property = tw_reader_get_property;
	object_class->set_property = tw_reader_set_property;

	props[PROP_PCSC_NAME] = g_param_spec_string("pcsc-name", NULL, NULL, NULL,
						    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
							    G_PARAM_STATIC_STRINGS);
	props[PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL,
					       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
	/* a TwCardState; kept as uint to spare a GEnum type for an internal enum */
	props[PROP_CARD_STATE] = g_param_spec_uint(
		"card-state", NULL, NULL, 0, TW_CARD_STATE_IN_USE, 0,
		G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
	props[PROP_ATR] = g_param_spec_string("atr", NULL, NULL, "",
					      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
						      G_PARAM_STATIC_STRINGS);
	props[PROP_EVENT_COUNT] = g_param_spec_uint("event-count", NULL, NULL, 0, G_MAXUINT, 0,
						    G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
							    G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, props);
}

TwReader *
tw_reader_new(const gchar *pcsc_name)
{
	g_return_val_if_fail(pcsc_name != NULL, NULL);
	return g_object_new(TW_TYPE_READER, "pcsc-name", pcsc_name, NULL);
}

const gchar *
tw_reader_get_pcsc_name(TwReader *self)
{
	g_return_val_if_fail(TW_IS_READER(self), NULL);
	return self->pcsc_name;
}

const gchar *
tw_reader_get_name(TwReader *self)
{
	g_return_val_if_fail(TW_IS_READER(self), NULL);
	return self->name;
}

TwCardState
tw_reader_get_card_state(TwReader *self)
{
	g_return_val_if_fail(TW_IS_READER(self), TW_CARD_STATE_UNKNOWN);
	return self->card_state;
}

gboolean
tw_reader_get_card_present(TwReader *self)
{
	g_return_val_if_fail(TW_IS_READER(self), FALSE);
	return tw_card_state_is_present(self->card_state);
}

const gchar *
tw_reader_get_atr(TwReader *self)
{
	g_return_val_if_fail(TW_IS_READER(self), NULL);
	return self->atr;
}

guint
tw_reader_get_event_count(TwReader *self)
{
	g_return_val_if_fail(TW_IS_READER(self), 0);
	return self->event_count;
}

guint16
tw_reader_get_pcsc_counter(TwReader *self)
{
	g_return_val_if_fail(TW_IS_READER(self), 0);
	return self->pcsc_counter;
}

/* @atr: upper-case hex, "" when there is none */
void
tw_reader_set_card(TwReader *self, TwCardState state, const gchar *atr)
{
	g_return_if_fail(TW_IS_READER(self));
	g_return_if_fail(atr != NULL);

	g_object_freeze_notify(G_OBJECT(self));
	if (self->card_state != state) {
		self->card_state = state;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CARD_STATE]);
	}
	if (g_strcmp0(self->atr, atr) != 0) {
		g_free(self->atr);
		self->atr = g_strdup(atr);
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ATR]);
	}
	g_object_thaw_notify(G_OBJECT(self));
}

void
tw_reader_set_pcsc_counter(TwReader *self, guint16 counter)
{
	g_return_if_fail(TW_IS_READER(self));
	self->pcsc_counter = counter;
}

void
tw_reader_add_events(TwReader *self, guint n)
{
	g_return_if_fail(TW_IS_READER(self));
	if (n == 0)
		return;
	self->event_count += n;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_EVENT_COUNT]);
}
