// ChunkRouter (adapters/batch/run/chunk_router.h): a chunk of lines routed
// and mapped on two threads gives, line for line, what one ResourceRouter
// gives routing and mapping them in order: the same statuses, routes and
// fragments, whatever thread took which line; lines `keep` refuses are not
// mapped.
#include "adapters/batch/run/chunk_router.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/batch/export/line_reader.h"
#include "gtest/gtest.h"

namespace needlecheck::batch {
namespace {

// Lines of every kind: resources of several patients, one without a
// patient, long ones (over 256 KiB), malformed JSON, a resource the FHIR
// mapping rejects (an impossible date), a JSON value that is not an object.
std::vector<std::string> Lines(int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    const std::string patient = absl::StrCat("p", i % 7);
    if (i % 50 == 49) {
      // Longer than the helper takes: routed by the calling thread.
      lines.push_back(absl::StrCat(R"({"resourceType":"Condition","id":"long)",
                                   i, R"(","subject":{"reference":"Patient/)",
                                   patient, R"("},"code":{"text":")",
                                   std::string(300 << 10, 'k'), R"("}})"));
      continue;
    }
    switch (i % 6) {
      case 0:
        lines.push_back(absl::StrCat(R"({"resourceType":"Patient","id":")",
                                     patient, R"(","birthDate":"1980-01-0)",
                                     1 + i % 9, R"("})"));
        break;
      case 1:
        lines.push_back(absl::StrCat(
            R"({"resourceType":"Condition","id":"c)", i,
            R"(","subject":{"reference":"Patient/)", patient,
            R"("},"code":{"text":"Keloid"},"onsetDateTime":"2020-01-01"})"));
        break;
      case 2:
        lines.push_back(absl::StrCat(R"({"resourceType":"Condition","id":"d)",
                                     i, R"(","subject":{"reference":"Patient/)",
                                     patient,
                                     R"("},"onsetDateTime":"2021-02-30"})"));
        break;
      case 3:
        lines.push_back(absl::StrCat(
            R"({"resourceType":"Organization","id":"o)", i, R"("})"));
        break;
      case 4:
        lines.push_back(
            absl::StrCat(R"({"resourceType":"Procedure","id":)", i));
        break;
      default:
        lines.push_back("[1,2]");
        break;
    }
  }
  return lines;
}

// The texts one after the other, with the padding RoutePadded reads.
std::vector<RoutedLine> ChunkOf(const std::vector<std::string>& lines,
                                std::string* texts) {
  texts->clear();
  std::vector<size_t> at;
  for (const std::string& line : lines) {
    at.push_back(texts->size());
    texts->append(line);
  }
  texts->append(NdjsonLineReader::kPadding, ' ');
  std::vector<RoutedLine> chunk(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    chunk[i].text = absl::string_view(texts->data() + at[i], lines[i].size());
  }
  return chunk;
}

bool KeepOddPatients(const RouteResult& routed) {
  return !routed.patient_id.empty() &&
         (routed.patient_id.back() - '0') % 2 == 1;
}

TEST(ChunkRouterTest, TwoThreadsGiveWhatOneRouterGivesInOrder) {
  ChunkRouter two(2);
  ChunkRouter one(1);
  std::string texts;
  // Several chunks through the same routers (their parsers and the helper
  // thread are reused), of sizes around the helper's block.
  for (int n : {0, 1, 7, 8, 9, 64, 513, 2000}) {
    SCOPED_TRACE(n);
    const std::vector<std::string> lines = Lines(n);
    std::vector<RoutedLine> chunk = ChunkOf(lines, &texts);
    two.Route(chunk, KeepOddPatients);
    std::vector<RoutedLine> alone = chunk;
    one.Route(alone, KeepOddPatients);
    ResourceRouter router;
    int mapped = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      RouteResult routed;
      const absl::Status status = router.Route(lines[i], &routed);
      std::string fragment;
      if (status.ok() && KeepOddPatients(routed)) {
        router.MapRouted(&fragment);
        ++mapped;
      }
      for (const std::vector<RoutedLine>* got : {&chunk, &alone}) {
        const RoutedLine& line = (*got)[i];
        EXPECT_EQ(line.route, status) << i;
        if (!status.ok()) continue;
        EXPECT_EQ(line.routed.patient_id, routed.patient_id) << i;
        EXPECT_EQ(line.routed.resource_type, routed.resource_type) << i;
        EXPECT_EQ(line.routed.id, routed.id) << i;
        EXPECT_EQ(line.fragment, fragment) << i;
      }
    }
    if (n >= 64) {
      EXPECT_GT(mapped, 0);
    }
  }
}

}  // namespace
}  // namespace needlecheck::batch
