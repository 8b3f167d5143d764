/* cfuser/cfuser.h - the public C API of libcfuser (umbrella header). */
#ifndef CFUSER_CFUSER_H
#define CFUSER_CFUSER_H

#define CFUSER_VERSION "0.1.0"

#include "cfuser/alloc.h"
#include "cfuser/dtype.h"
#include "cfuser/exec.h"
#include "cfuser/fusion.h"
#include "cfuser/ops.h"
#include "cfuser/program.h"
#include "cfuser/status.h"

#endif
