/* ops_indexing.h - the Python entries of the indexing ops
 * (ops_indexing.c), named as the generated method table expects. */
#ifndef CFB_OPS_INDEXING_H
#define CFB_OPS_INDEXING_H

#include "module.h"

PyObject *op_index_select(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k);
PyObject *op_gather(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k);
PyObject *op_take_along_axis(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k);
PyObject *op_scatter(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k);
PyObject *op_embedding_fwd(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k);

#endif
