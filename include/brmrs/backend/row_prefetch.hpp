// brmrs/backend/row_prefetch.hpp — what a driver tells a kernel policy's select_hard about its
// pool rows: whether prefetching them can pay (detail/objective_pipeline.hpp, the contract).
//
//   row_prefetch::by_pool  the policy decides from the pool it is given (a standalone call)
//   row_prefetch::off      the item tables fit the policy's cache: prefetching only costs
//   row_prefetch::on       the item tables are beyond it: prefetch
// A hint: results never depend on it. Drivers decide once per batch from the tables' size
// (detail::beyond_policy_cache), which spares every example a pass over its pool ids.
#pragma once

#include "../config.hpp"

BRMRS_BEGIN_NAMESPACE
namespace backend {

enum class row_prefetch : unsigned char { by_pool, off, on };

}  // namespace backend
BRMRS_END_NAMESPACE
