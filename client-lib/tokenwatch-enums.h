/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(TOKENWATCH_INSIDE) && !defined(TOKENWATCH_COMPILATION)
#error "Only <tokenwatch.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * TokenwatchCardState:
 * @TOKENWATCH_CARD_STATE_UNKNOWN: The state is not known, or tokenwatchd
 *   reported a state this version of the library does not know.
 * @TOKENWATCH_CARD_STATE_EMPTY: No card is in the reader.
 * @TOKENWATCH_CARD_STATE_PRESENT: A card is in the reader (powered or not).
 * @TOKENWATCH_CARD_STATE_MUTE: A card is in the reader but gives no ATR.
 * @TOKENWATCH_CARD_STATE_IN_USE: The card is held exclusively by another
 *   program.
 *
 * The state of the card slot of a reader. The GEnum nicks ("unknown",
 * "empty", "present", "mute", "in-use") are the strings used on D-Bus.
 *
 * Since: 0.1
 */
typedef enum {
	TOKENWATCH_CARD_STATE_UNKNOWN,
	TOKENWATCH_CARD_STATE_EMPTY,
	TOKENWATCH_CARD_STATE_PRESENT,
	TOKENWATCH_CARD_STATE_MUTE,
	TOKENWATCH_CARD_STATE_IN_USE,
} TokenwatchCardState;

G_END_DECLS
