/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "tw-p11.h"

G_BEGIN_DECLS

/* What a read found, as a GVariant, between the PKCS#11 helper process and
 * tokenwatchd (tw-p11-remote.c). Strings are bytestrings: labels may be
 * any bytes a module gives; (bay) is a value that may be missing (D-Bus
 * has no maybe type). */
#define TW_P11_WIRE_OBJECT_TYPE "(ayay(bay)(bay))"
#define TW_P11_WIRE_TOKEN_TYPE \
	"(ayaytaytayayayayttttta" TW_P11_WIRE_OBJECT_TYPE "a" TW_P11_WIRE_OBJECT_TYPE "(bay))"
#define TW_P11_WIRE_TOKENS_TYPE "a" TW_P11_WIRE_TOKEN_TYPE

GVariant *tw_p11_wire_from_tokens(GPtrArray *tokens);
GPtrArray *tw_p11_wire_to_tokens(GVariant *value, GError **error) G_GNUC_WARN_UNUSED_RESULT;
TwP11Token *tw_p11_token_copy(const TwP11Token *token) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
