/* SPDX-License-Identifier: MIT */
#ifndef PROBE_H
#define PROBE_H

struct probe_event {
	int pid;
	int ppid;
};

#endif /* PROBE_H */
