/* SPDX-License-Identifier: GPL-2.0-only */
/* What tally.ko exports (tally.c), for the modules that use it. */
#ifndef TALLY_H
#define TALLY_H

extern long tally_total;
long tally_add(long n);
long tally_reset(void);

#endif
