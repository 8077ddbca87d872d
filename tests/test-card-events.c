/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <PCSC/pcsclite.h>

#include "tw-card-events.h"

/* transitions from (old_present, counter) to (new_present, new_counter);
 * checks the counter accounted for afterwards */
static guint
step(gboolean old_present,
     guint16 counter,
     gboolean new_present,
     guint16 new_counter,
     guint16 expect_counter)
{
	guint n = tw_card_transitions(old_present, &counter, new_present, new_counter);

	g_assert_cmpuint(counter, ==, expect_counter);
	return n;
}

static void
test_transitions_simple(void)
{
	/* nothing happened */
	g_assert_cmpuint(step(FALSE, 0, FALSE, 0, 0), ==, 0);
	g_assert_cmpuint(step(TRUE, 7, TRUE, 7, 7), ==, 0);
	/* one insertion, one removal */
	g_assert_cmpuint(step(FALSE, 0, TRUE, 1, 1), ==, 1);
	g_assert_cmpuint(step(TRUE, 1, FALSE, 2, 2), ==, 1);
}

static void
test_transitions_missed(void)
{
	/* pulled and put back between two looks: presence unchanged, two events */
	g_assert_cmpuint(step(TRUE, 1, TRUE, 3, 3), ==, 2);
	g_assert_cmpuint(step(FALSE, 4, FALSE, 6, 6), ==, 2);
	/* in, out, in */
	g_assert_cmpuint(step(FALSE, 0, TRUE, 3, 3), ==, 3);
}

static void
test_transitions_wrap(void)
{
	/* the counter is 16 bits and wraps to 0 */
	g_assert_cmpuint(step(FALSE, 0xffff, TRUE, 0, 0), ==, 1);
	g_assert_cmpuint(step(TRUE, 0xfffe, TRUE, 0, 0), ==, 2);
}

static void
test_transitions_counter_late(void)
{
	guint16 counter = 4;

	/* pcscd shows the card before it counts it: one insertion, count ahead */
	g_assert_cmpuint(tw_card_transitions(FALSE, &counter, TRUE, 4), ==, 1);
	g_assert_cmpuint(counter, ==, 5);
	/* still not counted: nothing new */
	g_assert_cmpuint(tw_card_transitions(TRUE, &counter, TRUE, 4), ==, 0);
	g_assert_cmpuint(counter, ==, 5);
	/* now counted: nothing new either */
	g_assert_cmpuint(tw_card_transitions(TRUE, &counter, TRUE, 5), ==, 0);
	g_assert_cmpuint(counter, ==, 5);
	/* the removal, again seen before it is counted */
	g_assert_cmpuint(tw_card_transitions(TRUE, &counter, FALSE, 5), ==, 1);
	g_assert_cmpuint(counter, ==, 6);
	/* counted, then a fast re-insert and removal that both were */
	g_assert_cmpuint(tw_card_transitions(FALSE, &counter, FALSE, 8), ==, 2);
	g_assert_cmpuint(counter, ==, 8);
	/* an insertion seen early (9 to come), then it is counted, and a removal
	 * (10) and a re-insertion (11, still to come) follow */
	g_assert_cmpuint(tw_card_transitions(FALSE, &counter, TRUE, 8), ==, 1);
	g_assert_cmpuint(counter, ==, 9);
	g_assert_cmpuint(tw_card_transitions(TRUE, &counter, TRUE, 10), ==, 2);
	g_assert_cmpuint(counter, ==, 11);
	g_assert_cmpuint(tw_card_transitions(TRUE, &counter, TRUE, 11), ==, 0);
}

static void
test_transitions_odd(void)
{
	guint16 counter = 0;

	/* no counter at all (very old pcscd): presence alone, forever */
	for (guint i = 0; i < 10; i++)
		g_assert_cmpuint(tw_card_transitions(i % 2 == 1, &counter, i % 2 == 0, 0), ==, 1);
	g_assert_cmpuint(tw_card_transitions(FALSE, &counter, FALSE, 0), ==, 0);
	/* a removal counted after a reader error, with no card seen: the last
	 * event leads to what is seen now */
	g_assert_cmpuint(step(FALSE, 2, TRUE, 4, 5), ==, 3);
	g_assert_cmpuint(step(TRUE, 2, TRUE, 3, 4), ==, 2);
}

static void
test_state_from_pcsc(void)
{
	g_assert_cmpint(tw_card_state_from_pcsc(SCARD_STATE_EMPTY), ==, TW_CARD_STATE_EMPTY);
	g_assert_cmpint(tw_card_state_from_pcsc(SCARD_STATE_PRESENT | SCARD_STATE_INUSE), ==,
			TW_CARD_STATE_PRESENT);
	g_assert_cmpint(tw_card_state_from_pcsc(SCARD_STATE_PRESENT | SCARD_STATE_MUTE), ==,
			TW_CARD_STATE_MUTE);
	g_assert_cmpint(tw_card_state_from_pcsc(SCARD_STATE_PRESENT | SCARD_STATE_EXCLUSIVE), ==,
			TW_CARD_STATE_IN_USE);
	g_assert_cmpint(tw_card_state_from_pcsc(SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE), ==,
			TW_CARD_STATE_UNKNOWN);
	g_assert_cmpint(tw_card_state_from_pcsc(SCARD_STATE_UNAWARE), ==, TW_CARD_STATE_UNKNOWN);
	/* the counter bits do not matter */
	g_assert_cmpint(tw_card_state_from_pcsc((5u << 16) | SCARD_STATE_EMPTY), ==,
			TW_CARD_STATE_EMPTY);
	g_assert_true(tw_card_state_is_present(TW_CARD_STATE_MUTE));
	g_assert_false(tw_card_state_is_present(TW_CARD_STATE_UNKNOWN));
	g_assert_cmpstr(tw_card_state_to_string(TW_CARD_STATE_IN_USE), ==, "in-use");
	g_assert_cmpstr(tw_card_state_to_string((TwCardState)99), ==, "unknown");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/card-events/transitions/simple", test_transitions_simple);
	g_test_add_func("/card-events/transitions/missed", test_transitions_missed);
	g_test_add_func("/card-events/transitions/wrap", test_transitions_wrap);
	g_test_add_func("/card-events/transitions/counter-late", test_transitions_counter_late);
	g_test_add_func("/card-events/transitions/odd", test_transitions_odd);
	g_test_add_func("/card-events/state-from-pcsc", test_state_from_pcsc);
	return g_test_run();
}
