#pragma once
// process_* metrics read from /proc at scrape time (Prometheus client-library guidelines).
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace taskman::metrics {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace taskman::metrics
