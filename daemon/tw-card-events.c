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
 * @old_counter: pcscd's 16-bit event counter at the last look
 * @new_present: whether a card is in the reader now
 * @new_counter: the event counter now
 *
 * pcscd counts every insertion and every removal in the upper 16 bits of the
 * reader's state word. Between two looks a card may have been pulled and put
 * back (or another card put in): the presence did not change, but the counter
 * moved by two. This counts the insertions and removals that happened; they
 * alternate, the first one being a removal when @old_present, else an
 * insertion.
 *
 * pcscd also counts a removal after a reader error, when no card was seen: a
 * count whose parity does not match the change of presence is rounded up so
 * that the last event always leads to the state seen now.
 *
 * Returns: the number of transitions
 */
guint
tw_card_transitions(gboolean old_present,
		    guint16 old_counter,
		    gboolean new_present,
		    guint16 new_counter)
{
	guint delta = (guint16)(new_counter - old_counter);
	gboolean changed = (!old_present) != (!new_present);

	if (delta == 0)
		return changed ? 1 : 0;
	if ((delta % 2 == 1) != changed)
		delta++;
	return delta;
}
