/* SPDX-License-Identifier: MIT */
/* The histograms runqlat.bpf.c keeps in its `hists` map and runqlat.c prints. */
#ifndef RUNQLAT_H
#define RUNQLAT_H

#define RUNQLAT_SLOTS 26
#define RUNQLAT_COMM_LEN 16
/* the key of the one histogram of every task (without -P) */
#define RUNQLAT_ALL_TASKS 0xffffffffu

struct runqlat_hist {
	unsigned int slots[RUNQLAT_SLOTS];
	char comm[RUNQLAT_COMM_LEN];
};

#endif /* RUNQLAT_H */
