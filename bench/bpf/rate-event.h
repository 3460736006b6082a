/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __RATE_EVENT_H
#define __RATE_EVENT_H

/* one getppid() call by the generator */
struct rate_event {
	__u64 seq;     /* 0, 1, 2... in call order: gaps are lost events */
	__u32 pid;
	__u32 cpu;
	char comm[16];
};

/* slots of the `rate_counters` ARRAY map */
#define COUNTER_SEQ 0
#define COUNTER_DROPS 1

#endif /* __RATE_EVENT_H */
