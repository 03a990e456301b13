/* SPDX-License-Identifier: GPL-2.0 */
/* Sizes and durations as they appear in intents, the CLI and the config.
 * Sizes: plain bytes or a K/M/G/T suffix (binary, 1K = 1024), decimals
 * allowed ("1.5G"), optional trailing 'B' or 'iB' ("512MiB", "1KB").
 * Durations: a number with ms, s, m or h ("250ms", "1.5s", "10m"), also
 * us and ns, or a compound with units from the largest down ("1m30s");
 * a bare number is rejected (ambiguous unit).
 * No whitespace, sign, exponent or hex anywhere. */
#ifndef AGENTCG_UNITS_H
#define AGENTCG_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define AC_SIZE_LIMIT (1ULL << 50)		 /* 1 PiB: anything above is absurd */
#define AC_DURATION_LIMIT_NS (366ULL * 86400 * 1000000000ULL) /* a year */

/* 0 on success; -EINVAL for malformed input (empty, negative, junk,
 * unknown suffix), -ERANGE when above AC_SIZE_LIMIT. Rounds down to a
 * whole byte. */
int ac_parse_size(const char *s, uint64_t *out);

/* 0 on success; -EINVAL malformed or missing unit, -ERANGE above
 * AC_DURATION_LIMIT_NS. */
int ac_parse_duration(const char *s, uint64_t *out_ns);

/* Human forms, shortest exact-ish: 1073741824 -> "1G", 1572864 -> "1.5M",
 * 1000 -> "1000"; "max" for UINT64_MAX. Always NUL-terminates. */
void ac_format_size(uint64_t bytes, char *buf, size_t len);
/* 1500000000 -> "1.5s", 250000000 -> "250ms", 90e9 -> "1m30s". */
void ac_format_duration(uint64_t ns, char *buf, size_t len);

#endif
