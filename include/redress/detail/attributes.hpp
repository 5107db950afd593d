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

// Separate compilation (docs/building.md, "Compiling the core once"). By default every
// function is defined in the headers. With REDRESS_SEPARATE_COMPILATION defined (linking
// redress::compiled does it), the library's cores that do not depend on the user's types (the
// breaker, the budgets, the default classifier's rules, the attempt loop's decisions, the
// interruptible sleep) are only declared in a user's translation unit and compiled once, in
// redress::compiled, instead of in every translation unit that uses them; their hot inline
// members stay visible to the optimizer. Each is a template for this (on a defaulted, unused
// parameter, or on the loop's mode): an explicit instantiation declaration, below, keeps a
// translation unit from instantiating it, and <redress/impl/src.hpp> instantiates it once.
//
// What a user's translation unit then does not even parse: the bodies of those cores, and of
// the functions of the library's own classes that are not on a success path (the breaker's
// and the budgets' handles, the strategies, the lint rules, `Tags`). A header `NAME.hpp`
// declares them and `<redress/impl/NAME.hpp>` defines them; the header includes its
// definitions at its end unless REDRESS_SEPARATE_COMPILATION is defined, and
// <redress/impl/src.hpp> includes all of them, once. A definition of a non-template function
// there is marked REDRESS_DECL: `inline` when the headers define everything, an ordinary
// definition in redress::compiled. Members of the class templates keep `inline`, as if
// defined in their class, except those marked REDRESS_NOINLINE or REDRESS_COLD (g++ rejects
// `inline` after `noinline`; a template needs neither). A program uses one way or the other:
// a non-template function must not be inline in one unit and compiled once in another.
#if defined(REDRESS_SEPARATE_COMPILATION)
/// An explicit instantiation declaration: the instantiation lives in redress::compiled.
#define REDRESS_EXTERN_TEMPLATE(...) extern template __VA_ARGS__;
/// A non-template function defined in <redress/impl/NAME.hpp>: compiled once.
#define REDRESS_DECL
#else
#define REDRESS_EXTERN_TEMPLATE(...)
/// A non-template function defined in <redress/impl/NAME.hpp>: inline, in every unit.
#define REDRESS_DECL inline
#endif
