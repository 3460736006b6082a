/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TC_H
#define __TC_H

/* one packet seen on the hooked interface */
struct pkt {
	__u32 ifindex;
	__u32 len;
	__u32 protocol; /* ethertype, host byte order */
};

#endif /* __TC_H */
