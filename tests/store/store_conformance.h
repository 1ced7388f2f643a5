// The Store conformance suite: what every store plugin must do, checked
// through the ses::Store interface (so through the host wrapper and the C ABI
// when the store comes from a Registry).
//
// To run it against a store, give it a factory that returns a fresh, empty
// store each call, and instantiate it in your test binary:
//
//   StoreFactory MyFactory() {
//     return {"MyStore", [] { ...; return registry.NewStore("my-store", config); }};
//   }
//   INSTANTIATE_TEST_SUITE_P(MyStore, StoreConformanceTest,
//                            ::testing::Values(MyFactory()), StoreFactoryName);
//
// and link the ses_store_conformance object library. The suite covers reads
// of absent records, create, compare-and-set with right and wrong versions,
// version increments, remove, listing by prefix (sorted, no wildcards),
// binary values, the size limits of ses/store.h, concurrent increments from
// several threads with no lost update, and Health.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "ses/status.h"
#include "ses/store.h"

namespace ses::store_test {

struct StoreFactory {
  std::string name;  // the test name suffix: letters, digits and '_' only
  std::function<StatusOr<std::shared_ptr<Store>>()> make;
};

// gtest prints a parameter with this; the name is all a factory has to show.
void PrintTo(const StoreFactory& factory, std::ostream* os);

// Names instantiations after StoreFactory::name.
std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info);

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;

  std::shared_ptr<Store> store_;
};

}  // namespace ses::store_test
