// Inlining hints for the few places where the compiler's choice costs a measurable amount on
// the success path (each use says what it buys). Portable: they expand to nothing where the
// attributes are unknown.
#pragma once

#if defined(__GNUC__)
/// Keep out of the caller: a rare path, so the common path keeps a small frame.
#define REDRESS_NOINLINE [[gnu::noinline]]
/// A rare path: out of line and laid out away from the hot code.
#define REDRESS_COLD [[gnu::noinline, gnu::cold]]
/// Always inline: the call is on the success path and small once inlined.
#define REDRESS_INLINE [[gnu::always_inline]] inline
#else
#define REDRESS_NOINLINE
#define REDRESS_COLD
#define REDRESS_INLINE inline
#endif
