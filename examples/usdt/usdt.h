/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __USDT_H
#define __USDT_H

#define PATH_LEN 32

/* one firing of the ecli:request probe, with its three arguments */
struct usdt_request {
	int pid;
	int id;
	long size;
	char path[PATH_LEN];
	char comm[16];
};

#endif /* __USDT_H */
