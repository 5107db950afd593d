// <redress/testing.hpp>: deterministic test support — virtual time, scripted strategies,
// fakes. Standard library only, like the core.
#pragma once

#include <redress/redress.hpp>
#include <redress/testing/breaker_store.hpp>
#include <redress/testing/fake_circuit_breaker.hpp>
#include <redress/testing/fake_policy.hpp>
#include <redress/testing/manual_clock.hpp>
#include <redress/testing/manual_executor.hpp>
#include <redress/testing/recording_policy.hpp>
#include <redress/testing/strategies.hpp>
#include <redress/testing/virtual_scheduler.hpp>
