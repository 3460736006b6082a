/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __HARDIRQS_H
#define __HARDIRQS_H

#define IRQ_NAME_LEN 32
#define MAX_SLOTS 20

/* number of handler runs and a log2 histogram of their duration */
struct info {
	__u64 count;
	__u32 slots[MAX_SLOTS];
};

#endif /* __HARDIRQS_H */
