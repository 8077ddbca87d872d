/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <PCSC/pcsclite.h>

#include "tw-card-events.h"

static void
test_transitions_simple(void)
{
	/* nothing happened */
	g_assert_cmpuint(tw_card_transitions(FALSE, 0, FALSE, 0), ==, 0);
	g_assert_cmpuint(tw_card_transitions(TRUE, 7, TRUE, 7), ==, 0);
	/* one insertion, one removal */
	g_assert_cmpuint(tw_card_transitions(FALSE, 0, TRUE, 1), ==, 1);
	g_assert_cmpuint(tw_card_transitions(TRUE, 1, FALSE, 2), ==, 1);
}

static void
test_transitions_missed(void)
{
	/* pulled and put back between two looks: presence unchanged, two events */
	g_assert_cmpuint(tw_card_transitions(TRUE, 1, TRUE, 3), ==, 2);
	g_assert_cmpuint(tw_card_transitions(FALSE, 4, FALSE, 6), ==, 2);
	/* in, out, in */
	g_assert_cmpuint(tw_card_transitions(FALSE, 0, TRUE, 3), ==, 3);
}

static void
test_transitions_wrap(void)
{
	/* the counter is 16 bits and wraps to 0 */
	g_assert_cmpuint(tw_card_transitions(FALSE, 0xffff, TRUE, 0), ==, 1);
	g_assert_cmpuint(tw_card_transitions(TRUE, 0xfffe, TRUE, 0), ==, 2);
}

static void
test_transitions_odd(void)
{
	/* no counter (old pcscd): presence alone */
	g_assert_cmpuint(tw_card_transitions(TRUE, 0, FALSE, 0), ==, 1);
	/* a removal counted after a reader error, with no card seen: parity fixed
	 * so that the last event leads to what is seen now */
	g_assert_cmpuint(tw_card_transitions(FALSE, 2, TRUE, 4), ==, 3);
	g_assert_cmpuint(tw_card_transitions(TRUE, 2, TRUE, 3), ==, 2);
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
	g_test_add_func("/card-events/transitions/odd", test_transitions_odd);
	g_test_add_func("/card-events/state-from-pcsc", test_state_from_pcsc);
	return g_test_run();
}
