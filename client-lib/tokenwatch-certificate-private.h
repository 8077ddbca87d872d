/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tokenwatch-certificate.h"
#include "tw-dbus-generated.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL
TokenwatchCertificate *tokenwatch_certificate_new(TwDBusCertificate *proxy, GBusType bus_type);

/* for tokenwatch-certificate-data.c */
G_GNUC_INTERNAL
TwDBusCertificate *tokenwatch_certificate_get_proxy(TokenwatchCertificate *self);
G_GNUC_INTERNAL
GBusType tokenwatch_certificate_get_bus_type(TokenwatchCertificate *self);

G_END_DECLS
