/* cuda/scan.h - kernels of the scans, sorts and welford (scan.c). */
#ifndef CFUSER_CUDA_SCAN_H
#define CFUSER_CUDA_SCAN_H

#include "cuda/sbuf.h"
#include "cuda/segment.h"

/* Longest row argsort and topk sort on the device (one block, shared
 * memory: 4096 keys of 8 bytes and their indices fill 48 KiB). */
#define CF_CG_SORT_MAX 4096

/* Is segment seg a scan, sort or welford (one instruction of kind SCAN)? */
bool cf_cg_is_scan(const cf_program *p, const cf_seg *seg);
/* The kernel of segment gi (named L->name, its parameter block P<gi>)
 * appended to body, its launch and parameter words in L; *skip when there
 * is nothing to compute. Rows too long to sort: CF_ERR_UNSUPPORTED. */
cf_status cf_cg_scan(const cf_segs *S, const int *bufidx, int gi, cf_kernel_launch *L, cf_sbuf *body, bool *skip);

#endif
