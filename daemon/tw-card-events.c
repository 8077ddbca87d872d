/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure logic between pcscd's reader state words and tokenwatch's events, kept
 * apart from the thread that waits on pcscd so that it can be unit-tested.
 */
#include "config.h"

#include <PCSC/pcsclite.h>

#include "tw-card-events.h"

const gchar *
tw_card_state_to_string(TwCardState state)
{
	switch (state) {
	case TW_CARD_STATE_EMPTY:
		return "empty";
	case TW_CARD_STATE_PRESENT:
		return "present";
	case TW_CARD_STATE_MUTE:
		return "mute";
	case TW_CARD_STATE_IN_USE:
		return "in-use";
	case TW_CARD_STATE_UNKNOWN:
	default:
		return "unknown";
	}
}

/* @event_state: a dwEventState word of SCardGetStatusChange() */
TwCardState
tw_card_state_from_pcsc(guint32 event_state)
{
	if (event_state & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE | SCARD_STATE_IGNORE))
		return TW_CARD_STATE_UNKNOWN;
	if (event_state & SCARD_STATE_EMPTY)
		return TW_CARD_STATE_EMPTY;
	if (event_state & SCARD_STATE_PRESENT) {
		if (event_state & SCARD_STATE_MUTE)
			return TW_CARD_STATE_MUTE;
		if (event_state & SCARD_STATE_EXCLUSIVE)
			return TW_CARD_STATE_IN_USE;
		return TW_CARD_STATE_PRESENT;
	}
	return TW_CARD_STATE_UNKNOWN;
}

gboolean
tw_card_state_is_present(TwCardState state)
{
	return state == TW_CARD_STATE_PRESENT || state == TW_CARD_STATE_MUTE ||
	       state == TW_CARD_STATE_IN_USE;
}

/**
 * tw_card_transitions:
 * @old_present: whether a card was in the reader at the last look
 * @counter: (inout): the event count accounted for so far
 * @new_present: whether a card is in the reader now
 * @new_counter: pcscd's 16-bit event counter now
 *
 * pcscd counts every insertion and every removal in the upper 16 bits of the
 * reader's state word. Between two looks a card may have been pulled and put
 * back (or another card put in): the presence did not change, but the counter
 * moved by two. This counts the insertions and removals that happened; they
 * alternate, the first one being a removal when @old_present, else an
 * insertion, and the last one leads to @new_present.
 *
 * pcscd updates a reader's presence before its counter, and a client may
 * read the state in between (seen with several readers busy at once): the
 * presence changed, the count did not yet. Such a change is counted as the
 * event it is, and @counter is moved one ahead of pcscd's to absorb the
 * increment still to come. While @counter is ahead of pcscd's, no count is
 * taken from pcscd. A count whose parity does not match the change of
 * presence (a removal pcscd counts after a reader error, with no card seen)
 * is handled the same way.
 *
 * Returns: the number of transitions
 */
guint
tw_card_transitions(gboolean old_present,
		    guint16 *counter,
		    gboolean new_present,
		    guint16 new_counter)
{
	guint16 delta = (guint16)(new_counter - *counter);
	gboolean changed = (!old_present) != (!new_present);
	/* pcscd has not yet counted an event already accounted for */
	gboolean ahead = delta > 0x8000;
	guint16 base = ahead ? *counter : new_counter;
	guint n = ahead ? 0 : delta;

	if ((n % 2 == 1) != changed) {
		n++;
		base++;
	}
	*counter = base;
	return n;
}
