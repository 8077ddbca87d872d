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

/**
 * TokenwatchPinState:
 * @TOKENWATCH_PIN_STATE_UNKNOWN: The state is not known (the module does not
 *   say), or tokenwatchd reported a state this version of the library does
 *   not know.
 * @TOKENWATCH_PIN_STATE_OK: Nothing to report.
 * @TOKENWATCH_PIN_STATE_TO_BE_CHANGED: The PIN is still the factory PIN and
 *   must be changed before use (`CKF_USER_PIN_TO_BE_CHANGED`).
 * @TOKENWATCH_PIN_STATE_COUNT_LOW: A wrong PIN was entered since the last
 *   successful login (`CKF_USER_PIN_COUNT_LOW`).
 * @TOKENWATCH_PIN_STATE_FINAL_TRY: One more wrong PIN locks it
 *   (`CKF_USER_PIN_FINAL_TRY`).
 * @TOKENWATCH_PIN_STATE_LOCKED: The PIN is locked (`CKF_USER_PIN_LOCKED`).
 *
 * The state of a PIN of a token, from the PKCS#11 token flags; tokenwatch
 * never logs in. The GEnum nicks ("unknown", "ok", "to-be-changed",
 * "count-low", "final-try", "locked") are the strings used on D-Bus.
 *
 * Since: 0.1
 */
typedef enum {
	TOKENWATCH_PIN_STATE_UNKNOWN,
	TOKENWATCH_PIN_STATE_OK,
	TOKENWATCH_PIN_STATE_TO_BE_CHANGED,
	TOKENWATCH_PIN_STATE_COUNT_LOW,
	TOKENWATCH_PIN_STATE_FINAL_TRY,
	TOKENWATCH_PIN_STATE_LOCKED,
} TokenwatchPinState;

/**
 * TokenwatchCertificateKind:
 * @TOKENWATCH_CERTIFICATE_KIND_UNKNOWN: tokenwatchd reported a kind this
 *   version of the library does not know.
 * @TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN_QSCD: A qualified certificate
 *   for electronic signatures whose key is in a QSCD.
 * @TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN: A qualified certificate for
 *   electronic signatures.
 * @TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESEAL_QSCD: A qualified certificate
 *   for electronic seals whose key is in a QSCD.
 * @TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESEAL: A qualified certificate for
 *   electronic seals.
 * @TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_WEB: A qualified website
 *   certificate.
 * @TOKENWATCH_CERTIFICATE_KIND_NON_QUALIFIED_PERSONAL: A personal certificate
 *   that is not qualified (a "commercial" certificate).
 * @TOKENWATCH_CERTIFICATE_KIND_CA: A certificate authority.
 * @TOKENWATCH_CERTIFICATE_KIND_OTHER: Anything else, including a certificate
 *   that does not parse.
 *
 * What a certificate is for, from its QCStatements, policies and basic
 * constraints. The GEnum nicks ("unknown", "qualified-esign-qscd",
 * "qualified-esign", "qualified-eseal-qscd", "qualified-eseal",
 * "qualified-web", "non-qualified-personal", "ca", "other") are the strings
 * used on D-Bus ("unknown" is never sent).
 *
 * Since: 0.1
 */
typedef enum {
	TOKENWATCH_CERTIFICATE_KIND_UNKNOWN,
	TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN_QSCD,
	TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN,
	TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESEAL_QSCD,
	TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESEAL,
	TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_WEB,
	TOKENWATCH_CERTIFICATE_KIND_NON_QUALIFIED_PERSONAL,
	TOKENWATCH_CERTIFICATE_KIND_CA,
	TOKENWATCH_CERTIFICATE_KIND_OTHER,
} TokenwatchCertificateKind;

/**
 * TokenwatchCertificateStatus:
 * @TOKENWATCH_CERTIFICATE_STATUS_UNKNOWN: tokenwatchd reported a status this
 *   version of the library does not know.
 * @TOKENWATCH_CERTIFICATE_STATUS_VALID: Valid, and not expiring soon.
 * @TOKENWATCH_CERTIFICATE_STATUS_EXPIRING: Valid, but its effective end of
 *   validity is within the warning period.
 * @TOKENWATCH_CERTIFICATE_STATUS_EXPIRED: Past its effective end of validity.
 * @TOKENWATCH_CERTIFICATE_STATUS_NOT_YET_VALID: Before its start of validity.
 * @TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED: A renewed certificate (same
 *   subject and issuing organisation, later expiry) was seen.
 * @TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE: A qualified certificate
 *   on a device whose QSCD certification has ended.
 *
 * The status of a certificate. The GEnum nicks ("unknown", "valid",
 * "expiring", "expired", "not-yet-valid", "superseded", "revoked-by-device")
 * are the strings used on D-Bus ("unknown" is never sent).
 *
 * Since: 0.1
 */
typedef enum {
	TOKENWATCH_CERTIFICATE_STATUS_UNKNOWN,
	TOKENWATCH_CERTIFICATE_STATUS_VALID,
	TOKENWATCH_CERTIFICATE_STATUS_EXPIRING,
	TOKENWATCH_CERTIFICATE_STATUS_EXPIRED,
	TOKENWATCH_CERTIFICATE_STATUS_NOT_YET_VALID,
	TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED,
	TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE,
} TokenwatchCertificateStatus;

/**
 * TokenwatchAdviceSeverity:
 * @TOKENWATCH_ADVICE_SEVERITY_UNKNOWN: tokenwatchd reported a severity this
 *   version of the library does not know.
 * @TOKENWATCH_ADVICE_SEVERITY_INFO: Worth knowing; nothing needs to be done
 *   soon.
 * @TOKENWATCH_ADVICE_SEVERITY_WARNING: Something should be done soon.
 * @TOKENWATCH_ADVICE_SEVERITY_CRITICAL: Something must be done now, or has
 *   already gone wrong.
 *
 * How urgent a [struct@Tokenwatch.Advice] is. The values grow with the urgency.
 * The GEnum nicks ("unknown", "info", "warning", "critical") are the strings
 * used on D-Bus ("unknown" is never sent).
 *
 * Since: 0.1
 */
typedef enum {
	TOKENWATCH_ADVICE_SEVERITY_UNKNOWN,
	TOKENWATCH_ADVICE_SEVERITY_INFO,
	TOKENWATCH_ADVICE_SEVERITY_WARNING,
	TOKENWATCH_ADVICE_SEVERITY_CRITICAL,
} TokenwatchAdviceSeverity;

G_END_DECLS
