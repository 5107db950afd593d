// expect: a classifier must be callable as
// A classifier that takes the exception by std::exception& instead of std::exception_ptr is
// rejected with the message that names both accepted forms.
#include <redress/classify.hpp>

namespace {
struct TakesException {
    redress::ErrorClass operator()(const std::exception&) const { return redress::ErrorClass::Unknown; }
};
}  // namespace

redress::Classification classify(const std::exception_ptr& e) { return redress::invoke_classifier(TakesException{}, e); }
