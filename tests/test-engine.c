/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The engine fed with the snapshots the PC/SC worker would deliver: the
 * events it derives, in order. The worker itself runs against a real pcscd
 * in the integration tests.
 */
#include "config.h"

#include <PCSC/pcsclite.h>
#include <string.h>

#include "tw-engine.h"

typedef struct {
	TwEngine *engine;
	GString *log;
} Fixture;

static void
log_event(Fixture *fx, const gchar *what, TwReader *reader)
{
	g_string_append_printf(fx->log, "%s:%s:%s:%u;", what, tw_reader_get_name(reader),
			       tw_card_state_to_string(tw_reader_get_card_state(reader)),
			       tw_reader_get_event_count(reader));
}

static void
reader_added_cb(TwEngine *e, TwReader *r, Fixture *fx)
{
	log_event(fx, "added", r);
}

static void
reader_removed_cb(TwEngine *e, TwReader *r, Fixture *fx)
{
	log_event(fx, "removed", r);
}

static void
card_inserted_cb(TwEngine *e, TwReader *r, Fixture *fx)
{
	log_event(fx, "in", r);
}

static void
card_removed_cb(TwEngine *e, TwReader *r, Fixture *fx)
{
	log_event(fx, "out", r);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->engine = tw_engine_new(NULL);
	fx->log = g_string_new(NULL);
	g_signal_connect(fx->engine, "reader-added", G_CALLBACK(reader_added_cb), fx);
	g_signal_connect(fx->engine, "reader-removed", G_CALLBACK(reader_removed_cb), fx);
	g_signal_connect(fx->engine, "card-inserted", G_CALLBACK(card_inserted_cb), fx);
	g_signal_connect(fx->engine, "card-removed", G_CALLBACK(card_removed_cb), fx);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_object_unref(fx->engine);
	g_string_free(fx->log, TRUE);
}

static void
add_state(GPtrArray *states, const gchar *name, guint32 flags, guint16 counter)
{
	TwPcscReaderState *s = g_new0(TwPcscReaderState, 1);

	s->name = g_strdup(name);
	s->state = flags | ((guint32)counter << 16);
	if (flags & SCARD_STATE_PRESENT) {
		s->atr[0] = 0x3b;
		s->atr[1] = 0x01;
		s->atr_len = 2;
	}
	g_ptr_array_add(states, s);
}

static void
state_free(gpointer p)
{
	TwPcscReaderState *s = p;

	g_free(s->name);
	g_free(s);
}

static void
feed(Fixture *fx, gboolean available, ...)
{
	g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func(state_free);
	va_list ap;
	const gchar *name;

	va_start(ap, available);
	while ((name = va_arg(ap, const gchar *)) != NULL) {
		guint32 flags = va_arg(ap, guint32);
		guint counter = va_arg(ap, guint);

		add_state(states, name, flags, (guint16)counter);
	}
	va_end(ap);
	g_string_truncate(fx->log, 0);
	tw_engine_process_snapshot(fx->engine, available, states);
}

static void
test_engine_start(Fixture *fx, gconstpointer data)
{
	g_assert_false(tw_engine_get_pcsc_available(fx->engine));
	feed(fx, TRUE, "A", SCARD_STATE_EMPTY, 0u, "B", SCARD_STATE_PRESENT, 1u, NULL);
	/* a card already in is no insertion */
	g_assert_cmpstr(fx->log->str, ==, "added:A:empty:0;added:B:present:0;");
	g_assert_true(tw_engine_get_pcsc_available(fx->engine));
	g_assert_cmpuint(tw_engine_get_readers(fx->engine)->len, ==, 2);
	g_assert_cmpuint(tw_engine_count_cards(fx->engine), ==, 1);
	g_assert_cmpstr(tw_reader_get_atr(g_ptr_array_index(tw_engine_get_readers(fx->engine), 1)),
			==, "3B01");
}

static void
test_engine_events(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *status = NULL;

	feed(fx, TRUE, "A", SCARD_STATE_EMPTY, 0u, NULL);
	feed(fx, TRUE, "A", SCARD_STATE_PRESENT, 1u, NULL);
	g_assert_cmpstr(fx->log->str, ==, "in:A:present:1;");
	feed(fx, TRUE, "A", SCARD_STATE_EMPTY, 2u, NULL);
	g_assert_cmpstr(fx->log->str, ==, "out:A:empty:2;");
	/* nothing changed: nothing said */
	feed(fx, TRUE, "A", SCARD_STATE_EMPTY, 2u, NULL);
	g_assert_cmpstr(fx->log->str, ==, "");
	/* in and out again between two looks */
	feed(fx, TRUE, "A", SCARD_STATE_EMPTY, 4u, NULL);
	g_assert_cmpstr(fx->log->str, ==, "in:A:present:3;out:A:empty:4;");
	feed(fx, TRUE, "A", SCARD_STATE_PRESENT, 5u, NULL);
	/* out and in again */
	feed(fx, TRUE, "A", SCARD_STATE_PRESENT, 7u, NULL);
	g_assert_cmpstr(fx->log->str, ==, "out:A:empty:6;in:A:present:7;");
	status = tw_engine_describe(fx->engine);
	g_assert_cmpstr(status, ==, "1 reader, 1 card, 0 tokens, 0 certificates");
}

static void
test_engine_mute(Fixture *fx, gconstpointer data)
{
	feed(fx, TRUE, "A", SCARD_STATE_EMPTY, 0u, NULL);
	feed(fx, TRUE, "A", SCARD_STATE_PRESENT | SCARD_STATE_MUTE, 1u, NULL);
	g_assert_cmpstr(fx->log->str, ==, "in:A:mute:1;");
	g_assert_cmpstr(tw_reader_get_atr(g_ptr_array_index(tw_engine_get_readers(fx->engine), 0)),
			==, "3B01");
}

static void
test_engine_hotplug(Fixture *fx, gconstpointer data)
{
	feed(fx, TRUE, "A", SCARD_STATE_EMPTY, 0u, "B", SCARD_STATE_EMPTY, 0u, NULL);
	feed(fx, TRUE, "B", SCARD_STATE_EMPTY, 0u, "C", SCARD_STATE_PRESENT, 1u, NULL);
	g_assert_cmpstr(fx->log->str, ==, "removed:A:empty:0;added:C:present:0;");
	/* pcscd gone: every reader goes, then availability */
	feed(fx, FALSE, NULL);
	g_assert_cmpstr(fx->log->str, ==, "removed:C:present:0;removed:B:empty:0;");
	g_assert_false(tw_engine_get_pcsc_available(fx->engine));
	g_assert_cmpuint(tw_engine_get_readers(fx->engine)->len, ==, 0);
}

static void
test_engine_odd_names(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *long_name = g_strnfill(4000, 'R');
	TwReader *reader;

	feed(fx, TRUE, "\xff\xfeReader\x01", SCARD_STATE_EMPTY, 0u, long_name, SCARD_STATE_EMPTY,
	     0u, NULL);
	reader = g_ptr_array_index(tw_engine_get_readers(fx->engine), 0);
	g_assert_true(g_utf8_validate(tw_reader_get_name(reader), -1, NULL));
	g_assert_cmpstr(tw_reader_get_pcsc_name(reader), ==, "\xff\xfeReader\x01");
	reader = g_ptr_array_index(tw_engine_get_readers(fx->engine), 1);
	g_assert_cmpint(g_utf8_strlen(tw_reader_get_name(reader), -1), <=, 256);
	/* the raw name is still the key */
	feed(fx, TRUE, "\xff\xfeReader\x01", SCARD_STATE_PRESENT, 1u, long_name, SCARD_STATE_EMPTY,
	     0u, NULL);
	g_assert_true(g_str_has_prefix(fx->log->str, "in:"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
	g_test_add("/engine/start", Fixture, NULL, fixture_setup, test_engine_start,
		   fixture_teardown);
	g_test_add("/engine/events", Fixture, NULL, fixture_setup, test_engine_events,
		   fixture_teardown);
	g_test_add("/engine/mute", Fixture, NULL, fixture_setup, test_engine_mute,
		   fixture_teardown);
	g_test_add("/engine/hotplug", Fixture, NULL, fixture_setup, test_engine_hotplug,
		   fixture_teardown);
	g_test_add("/engine/odd-names", Fixture, NULL, fixture_setup, test_engine_odd_names,
		   fixture_teardown);
	return g_test_run();
}
