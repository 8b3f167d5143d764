/* cuda/segment.h - splitting a program into kernels (segment.c) and the
 * shared state code generation (codegen.c) reads.
 *
 * Axis classes: every axis of every tensor value that is not of size 1 gets
 * a class; pointwise ops and the views that alias a computed value unify the
 * classes of the axes they line up, so two axes share a class exactly when
 * they run over the same index of one loop nest. A kernel's iteration domain
 * is a set of classes; a value varies along its own classes and is constant
 * along the others.
 */
#ifndef CFUSER_CUDA_SEGMENT_H
#define CFUSER_CUDA_SEGMENT_H

#include "cuda/cuda_internal.h"

#define CF_SEG_MAX_CLASSES 64

typedef struct cf_seg {
    int *instrs;          /* program order; VIEWs are not listed          */
    int ninstrs, cap;
    bool has_red;
    uint64_t dom;         /* classes of the iteration domain              */
    uint64_t red;         /* reduced classes (has_red)                    */
    int ref;              /* slot whose axes order the domain             */
    int copy_slot;        /* >= 0: a copy kernel of this OUTPUT slot     */
    bool has_gather;      /* holds a GATHER (pointwise kernels only)     */
    int scatter;          /* >= 0: a kernel of this SCATTER instruction  */
    int scatter_part;     /* 0: copy arg to the result; 1: the writes    */
} cf_seg;

typedef struct cf_segs {
    const cf_program *p;
    const cf_slot_value *v;
    int ns;
    bool solo;                   /* one instruction per kernel            */
    int ncls;
    int uf[CF_SEG_MAX_CLASSES];
    int64_t csize[CF_SEG_MAX_CLASSES];
    int8_t (*cls)[CF_MAX_DIMS];  /* class per axis, -1 constant           */
    int *root;                   /* computed value a VIEW aliases         */
    int *pseg;                   /* segment computing a root, -1 none     */
    int *prod;                   /* instruction producing a slot          */
    uint8_t *gview;              /* readable from storage (gbase/gst)     */
    int *gbase;
    int64_t (*gst)[CF_MAX_DIMS];
    uint8_t *mat;                /* needs storage (OUTPUT or temporary)   */
    uint8_t *live;               /* per instruction, when the program has
                                    movement: some kernel runs it        */
    cf_seg *segs;
    int nsegs, segcap;
} cf_segs;

int cf_seg_find(cf_segs *s, int c);
uint64_t cf_seg_mask(cf_segs *s, int slot);
/* Storage strides of a slot that has its own storage (OUTPUT: the caller's,
 * TEMP: contiguous). */
void cf_seg_storage_strides(const cf_segs *s, int slot, int64_t *st);
/* A movement instruction reads a source by recomputing it at the moved
 * coordinates when the source is a movement or pointwise result whose tree
 * (down to inputs and stored values) has at most this many nodes. */
#define CF_SEG_RECOMPUTE_MAX 24
/* The instruction that recomputes x inside a movement read, or -1 when x
 * is read from storage. */
int cf_seg_recompute(const cf_segs *s, int x);
cf_status cf_seg_build(cf_segs *s, const cf_program *p,
                       const cf_slot_value *v, bool solo);
void cf_seg_free(cf_segs *s);
/* A new, empty segment at the end (NULL when out of memory). */
cf_seg *cf_seg_open(cf_segs *s);
/* The two kernels of SCATTER instruction i (cuda/indexing.c). */
cf_status cf_seg_add_scatter(cf_segs *s, int i);

#endif
