/* LAME's configuration for the targets this crate builds for (C99, POSIX headers); what LAME's
 * configure would find there. The instruction-set macros (HAVE_XMMINTRIN_H, MIN_ARCH_SSE) come
 * from build.rs. */
#ifndef LAME_CONFIG_H
#define LAME_CONFIG_H

#define STDC_HEADERS 1
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_ERRNO_H 1
#define HAVE_FCNTL_H 1
#define HAVE_MEMCPY 1
#define HAVE_STRCHR 1
#define LAME_LIBRARY_BUILD 1

/* Bit tricks on IEEE 754 floats in the quantiser, and a table-driven log2. */
#define TAKEHIRO_IEEE754_HACK 1
#define USE_FAST_LOG 1
typedef float ieee754_float32_t;

#endif
