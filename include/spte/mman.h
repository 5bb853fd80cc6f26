/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * madvise/mmap/mremap flags of kernels newer than the C library a build
 * may meet.  The values are the kernel's ABI (uapi asm-generic/mman-common.h
 * and linux/mman.h), so defining them is safe wherever <sys/mman.h> lacks
 * them.  Include after <sys/mman.h>.
 */
#ifndef SPTE_MMAN_H
#define SPTE_MMAN_H

#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#endif /* SPTE_MMAN_H */
