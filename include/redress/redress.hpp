// <redress/redress.hpp>: the whole core, standard library only.
//
// Integrations live in their own headers: <redress/fmt.hpp>, <redress/asio.hpp>; domain
// classifiers in <redress/extras/*.hpp>; test doubles in <redress/testing.hpp>. The contract
// these headers keep is docs/contract.md.
#pragma once

#include <redress/vocabulary.hpp>
#include <redress/attempt.hpp>
#include <redress/backoff_context.hpp>
#include <redress/budget.hpp>
#include <redress/circuit_breaker.hpp>
#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/clock.hpp>
#include <redress/decorator.hpp>
#include <redress/envelope.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>
#include <redress/event.hpp>
#include <redress/executor.hpp>
#include <redress/hedge.hpp>
#include <redress/hooks.hpp>
#include <redress/lint.hpp>
#include <redress/macros.hpp>
#include <redress/outcome.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>
#include <redress/tags.hpp>
#include <redress/task.hpp>
#include <redress/time_bound.hpp>
