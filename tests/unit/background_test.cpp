#include "common/background.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>

TEST(Background, RunsJobsInOrderAndStopDoesWhatIsQueued) {
  common::Background background("test", 100);
  EXPECT_FALSE(background.post([] {}));  // not started
  background.start();
  std::vector<int> done;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(background.post([&done, i] { done.push_back(i); }));
  background.stop();
  ASSERT_EQ(done.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(done[i], i);
  EXPECT_FALSE(background.post([] {}));  // stopped
}

TEST(Background, RefusesWhenFullAndGoesOnAfterAJobThrows) {
  common::Background background("test", 2);
  background.start();
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(background.post([&] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();  // the first job runs: the queue is empty again
  EXPECT_TRUE(background.post([] { throw std::runtime_error("logged, not fatal"); }));
  std::atomic<bool> last{false};
  EXPECT_TRUE(background.post([&] { last = true; }));
  EXPECT_FALSE(background.post([] {}));  // two waiting: full
  release.set_value();
  background.stop();
  EXPECT_TRUE(last);
}
