/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCX_H
#define __TCX_H

/* traffic seen for one ethertype (key of the `counts` map, host byte order) */
struct counter {
	__u64 packets;
	__u64 bytes;
};

#endif /* __TCX_H */
