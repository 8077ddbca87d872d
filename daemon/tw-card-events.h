/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TwCardState:
 * @TW_CARD_STATE_UNKNOWN: pcscd cannot tell (reader unavailable)
 * @TW_CARD_STATE_EMPTY: no card in the reader
 * @TW_CARD_STATE_PRESENT: a card is in the reader
 * @TW_CARD_STATE_MUTE: a card is in the reader but gave no ATR
 * @TW_CARD_STATE_IN_USE: a card is in the reader, held exclusively by a program
 *
 * What is in a reader, as tokenwatch shows it. Travels as a string.
 */
typedef enum {
	TW_CARD_STATE_UNKNOWN = 0,
	TW_CARD_STATE_EMPTY,
	TW_CARD_STATE_PRESENT,
	TW_CARD_STATE_MUTE,
	TW_CARD_STATE_IN_USE,
} TwCardState;

const gchar *tw_card_state_to_string(TwCardState state);
TwCardState tw_card_state_from_pcsc(guint32 event_state);
gboolean tw_card_state_is_present(TwCardState state);

guint tw_card_transitions(gboolean old_present,
			  guint16 *counter,
			  gboolean new_present,
			  guint16 new_counter);

G_END_DECLS
